import { describe, expect, it } from 'vitest';
import {
  type EmulatorOptions,
  isLoopbackHost,
  parseKnownUsers,
  resolveEmulatorOptions,
} from '../../src/emulator/options.js';
import { isSyncError } from '../../src/errors.js';

const required = { sdkAppId: 1400000000, secretKey: 'k'.repeat(64) };

function messageOf(options: EmulatorOptions): string {
  try {
    resolveEmulatorOptions(options);
  } catch (error) {
    expect(isSyncError(error, 'CONFIG')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected the options to be refused');
}

describe('resolveEmulatorOptions', () => {
  it('fills in the documented defaults', () => {
    expect(resolveEmulatorOptions(required)).toMatchObject({
      admin: 'administrator',
      host: '127.0.0.1',
      port: 0,
      rateLimit: 200,
      rateLimitWindowMs: 1000,
      latencyMs: 0,
      jitterMs: 0,
      faultRate: 0,
      http502Rate: 0,
      lostRate: 0,
      seed: 1,
      pageSize: 100,
      duplicateNames: 'reject',
      existingMember: 'ok',
      knownUsers: undefined,
      stateFile: undefined,
    });
    expect(resolveEmulatorOptions({ ...required, latencyMs: undefined }).latencyMs).toBe(0);
  });

  it('says what was expected and what was given, p-queue style', () => {
    expect(messageOf({ ...required, latencyMs: -1 })).toContain(
      'Expected `latencyMs` to be a number >= 0, got `-1` (number)',
    );
    expect(messageOf({ ...required, rateLimit: 0 })).toContain(
      'Expected `rateLimit` to be an integer from 1 and up, or Infinity, got `0` (number)',
    );
    expect(messageOf({ ...required, faultRate: 1.5 })).toContain(
      'Expected `faultRate` to be a number from 0 to 1, got `1.5` (number)',
    );
    expect(messageOf({ ...required, duplicateNames: 'merge' as 'allow' })).toContain(
      "Expected `duplicateNames` to be one of 'reject', 'allow', got `merge` (string)",
    );
  });

  it('reports every problem at once', () => {
    const message = messageOf({
      ...required,
      port: 70_000,
      pageSize: 0,
      faultEndpoints: ['nope' as 'get_contact_group'],
    });
    expect(message).toMatch(/`port`/);
    expect(message).toMatch(/`pageSize`/);
    expect(message).toMatch(/`faultEndpoints`/);
  });

  it('refuses fault rates that add up to more than 1', () => {
    expect(messageOf({ ...required, faultRate: 0.5, http502Rate: 0.4, lostRate: 0.2 })).toMatch(/at most 1/);
  });

  it('validates the readings and the newer faults eagerly, every problem at once', () => {
    const message = messageOf({
      ...required,
      appliedFaultRate: 2,
      malformedRate: -1,
      faultMix: { abc: 0.1 } as unknown as Record<number, number>,
      itemFaultMix: { 51007: 3 },
      itemsOneByOne: 'yes' as unknown as boolean,
      markedPerUser: 1.5,
      contactItemRequired: 1 as unknown as boolean,
      oldGroupNameMaxBytes: 0,
    });
    for (const name of [
      'Expected `appliedFaultRate` to be a number from 0 to 1, got `2` (number)',
      'Expected `malformedRate` to be a number from 0 to 1, got `-1` (number)',
      'Expected the keys of `faultMix` to be ErrorCodes (integers from 1), got `abc`',
      'Expected `itemFaultMix[51007]` to be a number from 0 to 1, got `3` (number)',
      'Expected `itemsOneByOne` to be a boolean, got `yes` (string)',
      'Expected `markedPerUser` to be an integer from 0 to 10000, got `1.5` (number)',
      'Expected `contactItemRequired` to be a boolean, got `1` (number)',
      'Expected `oldGroupNameMaxBytes` to be an integer from 1 to 1024, got `0` (number)',
    ]) {
      expect(message).toContain(name);
    }
    expect(messageOf({ ...required, lostRate: 0.5, faultMix: { 51007: 0.6 } })).toMatch(
      /add up to at most 1/,
    );
    expect(resolveEmulatorOptions(required)).toMatchObject({
      appliedFaultRate: 0,
      malformedRate: 0,
      faultMix: {},
      itemFaultRate: 0,
      itemFaultMix: {},
      itemsOneByOne: false,
      markedPerUser: 0,
      contactItemRequired: false,
      oldGroupNameMaxBytes: undefined,
    });
  });

  it('never echoes the secret key', () => {
    expect(messageOf({ sdkAppId: 0, secretKey: '' })).toMatch(
      /`secretKey` to be a non-empty string, got an empty string/,
    );
    const message = messageOf({ ...required, secretKey: required.secretKey, port: -1 });
    expect(message).not.toContain(required.secretKey);
  });

  it('refuses a non-loopback host unless allowNonLoopback', () => {
    expect(messageOf({ ...required, host: '0.0.0.0' })).toMatch(/loopback/);
    expect(resolveEmulatorOptions({ ...required, host: '0.0.0.0', allowNonLoopback: true }).host).toBe(
      '0.0.0.0',
    );
    expect(resolveEmulatorOptions({ ...required, host: '::1' }).host).toBe('::1');
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['0.0.0.0', false],
    ['192.168.1.5', false],
    ['::', false],
    ['example.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('parseKnownUsers', () => {
  it('reads one UserID per line, skipping blanks, comments and a BOM', () => {
    expect([...parseKnownUsers('\uFEFFalice\r\n\n# comment\n bob \ncarol')]).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
  });
});
