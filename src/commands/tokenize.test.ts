import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../errors.ts';
import { distance, parseArgs, tokenize } from './tokenize.ts';

const words = (line: string) => tokenize(line).map((t) => t.text);
const parse = (line: string, booleans: string[] = []) => parseArgs(tokenize(line), booleans);

describe('command tokenizer', () => {
  test('words, quotes and escapes', () => {
    const table: [string, string[]][] = [
      ['/ack', ['/ack']],
      ['  /ack   12  ', ['/ack', '12']],
      ['/incident new "title with spaces" --service checkout', ['/incident', 'new', 'title with spaces', '--service', 'checkout']],
      ["/note 'single quoted' rest", ['/note', 'single quoted', 'rest']],
      ['/note “curly quotes from a phone”', ['/note', 'curly quotes from a phone']],
      ['/note "say \\"hi\\" twice"', ['/note', 'say "hi" twice']],
      ['/note ""', ['/note', '']],
      ['/graph up{job="api"} 1h', ['/graph', 'up{job="api"}', '1h']],
      ['/graph up{job="a b"} 1h', ['/graph', 'up{job="a b"}', '1h']],
      ["/note it's fine", ['/note', "it's fine"]],
      ['/page @ana @bob "need a DBA"', ['/page', '@ana', '@bob', 'need a DBA']],
      ['/note\ttabs\nand newlines', ['/note', 'tabs', 'and', 'newlines']],
    ];
    for (const [line, expected] of table) assert.deepEqual(words(line), expected, line);
  });

  test('an unterminated quote is an error with a stable code', () => {
    assert.throws(() => tokenize('/incident new "no end'), (e: unknown) => e instanceof AppError && e.code === 'unterminated_quote');
  });

  test('flags: --flag value, --flag=value, boolean flags, -- and quoted words', () => {
    const table: [string, string[], { positional: string[]; flags: Record<string, string | true> }][] = [
      ['new "t" --service checkout --urgency low', [], { positional: ['new', 't'], flags: { service: 'checkout', urgency: 'low' } }],
      ['new --service=checkout "t"', [], { positional: ['new', 't'], flags: { service: 'checkout' } }],
      ['resolve-all --service checkout --yes', ['yes'], { positional: ['resolve-all'], flags: { service: 'checkout', yes: true } }],
      ['--yes resolve-all', ['yes'], { positional: ['resolve-all'], flags: { yes: true } }],
      ['primary --share', ['share'], { positional: ['primary'], flags: { share: true } }],
      ['--share primary', ['share'], { positional: ['primary'], flags: { share: true } }],
      ['--a --b', [], { positional: [], flags: { a: true, b: true } }],
      ['x "--not-a-flag"', [], { positional: ['x', '--not-a-flag'], flags: {} }],
      ['-- --literal words', [], { positional: ['--literal', 'words'], flags: {} }],
      ['@ana hello --incident 12', [], { positional: ['@ana', 'hello'], flags: { incident: '12' } }],
      ['--Service checkout', [], { positional: [], flags: { service: 'checkout' } }],
    ];
    for (const [line, booleans, expected] of table) assert.deepEqual(parse(line, booleans), expected, line);
  });

  test('edit distance for "did you mean"', () => {
    assert.equal(distance('ack', 'ack'), 0);
    assert.equal(distance('akc', 'ack'), 2);
    assert.equal(distance('resolv', 'resolve'), 1);
    assert.equal(distance('', 'abc'), 3);
  });
});
