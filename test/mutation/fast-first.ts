import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order `npm run mutate` runs the test files of one mutant in. Stryker stops at the first failing
 * test (bail), so a mutant is killed soonest when the files that failed last time (a neighbouring
 * mutant's killers) and then the fastest ones run first; vitest's own order is the slowest first.
 */
export class FastFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const key = (file: TestSpecification) =>
      `${file.project.name}:${relative(this.ctx.config.root, file.moduleId)}`;
    return [...files].sort((a, b) => {
      const aState = cache.getFileTestResults(key(a));
      const bState = cache.getFileTestResults(key(b));
      if (aState && bState) {
        if (aState.failed !== bState.failed) return aState.failed ? -1 : 1;
        return aState.duration - bState.duration;
      }
      // Not run yet: the smaller file first.
      return (cache.getFileStats(key(a))?.size ?? 0) - (cache.getFileStats(key(b))?.size ?? 0);
    });
  }
}
