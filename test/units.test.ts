import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/lab/config.js';
import { formatBytes, formatDuration, parseDuration, parseSize } from '../src/core/units.js';

describe('parseSize', () => {
  it.each([
    ['4096', 4096],
    ['4k', 4096],
    ['4K', 4096],
    ['4KiB', 4096],
    ['4kb', 4096],
    ['512MiB', 512 * 2 ** 20],
    ['1G', 2 ** 30],
    ['1GiB', 2 ** 30],
    ['1gib', 2 ** 30],
    ['128GiB', 128 * 2 ** 30],
    ['1.5G', 1.5 * 2 ** 30],
    ['100B', 100],
    ['0', 0],
  ])('%s = %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['', 'abc', '-4k', '4x', '4kk', '1.3k', 'k', '4 k b c', '1e3', '0x10'])('rejects %j', (text) => {
    expect(() => parseSize(text, '--guest-mem')).toThrow(ConfigError);
    try {
      parseSize(text, '--guest-mem');
    } catch (e) {
      expect((e as ConfigError).field).toBe('--guest-mem');
      expect((e as ConfigError).value).toBe(text);
    }
  });

  it('round-trips whole KiB through formatBytes-style text', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 30 }), (kib) => parseSize(`${kib}KiB`) === kib * 1024));
  });
});

describe('parseDuration', () => {
  it.each([
    ['3s', 3000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1.5s', 1500],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['1h', 3_600_000],
    ['42', 42],
    ['0', 0],
    ['0.5', 0.5],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('converts to microseconds exactly', () => {
    expect(parseDuration('5us', 'x', 'us')).toBe(5);
    expect(parseDuration('1.5ms', 'x', 'us')).toBe(1500);
  });

  it.each(['', 's', '-1s', '3x', '3 sec', 'fast', '1e3ms'])('rejects %j', (text) => {
    expect(() => parseDuration(text, '--duration')).toThrow(/invalid --duration/);
  });
});

describe('formatting', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(4096)).toBe('4 KiB');
    expect(formatBytes(2 ** 30)).toBe('1 GiB');
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5 GiB');
    expect(formatBytes(128 * 2 ** 30)).toBe('128 GiB');
    expect(formatBytes(100)).toBe('100 B');
  });
  it('formats durations', () => {
    expect(formatDuration(0.25)).toBe('250 µs');
    expect(formatDuration(500)).toBe('500 ms');
    expect(formatDuration(1500)).toBe('1.5 s');
    expect(formatDuration(120_000)).toBe('2 min');
  });
});
