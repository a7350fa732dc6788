import { describe, expect, it } from 'vitest';
import { RegistryError } from './errors.js';
import { anyOf, asInt, asTime, checkConditions, checkSort, parseQuery, parseSort } from './query.js';

const badRequest = (fn: () => unknown) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(RegistryError);
  expect((err as RegistryError).code).toBe('BAD_REQUEST');
};

describe('Harbor q parser', () => {
  it('parses the swagger example q=k1=v1,k2=~v2,k3=[min~max]', () => {
    const q = parseQuery('k1=v1,k2=~v2,k3=[min~max]');
    expect([...q]).toEqual([
      ['k1', { op: 'exact', value: 'v1' }],
      ['k2', { op: 'fuzzy', value: 'v2' }],
      ['k3', { op: 'range', min: 'min', max: 'max' }],
    ]);
  });

  it('parses or-lists and and-lists, space separated, as lib/q does', () => {
    expect(parseQuery('k={1 2 3}').get('k')).toEqual({ op: 'or', values: ['1', '2', '3'] });
    expect(parseQuery('k=(1 3)').get('k')).toEqual({ op: 'and', values: ['1', '3'] });
    expect(parseQuery('k={}').get('k')).toEqual({ op: 'or', values: [] });
    expect(parseQuery('k=(1)').get('k')).toEqual({ op: 'and', values: ['1'] });
  });

  it('keeps a list with commas inside its brackets as one pair (the swagger’s labels=(id1, id2))', () => {
    const q = parseQuery('labels=(1, 2),tags=*');
    expect(q.get('labels')).toEqual({ op: 'and', values: ['1', '2'] });
    expect(q.get('tags')).toEqual({ op: 'exact', value: '*' });
  });

  it('takes quoted strings in lists and ranges', () => {
    expect(parseQuery(`name={"a b" 'c'}`).get('name')).toEqual({ op: 'or', values: ['a', 'b', 'c'] });
    expect(parseQuery(`push_time=["2020-04-09 02:36:00"~]`).get('push_time')).toEqual({ op: 'range', min: '2020-04-09 02:36:00' });
  });

  it('parses open ranges [1~] and [~2]', () => {
    expect(parseQuery('k=[1~]').get('k')).toEqual({ op: 'range', min: '1' });
    expect(parseQuery('k=[~2]').get('k')).toEqual({ op: 'range', max: '2' });
  });

  it('refuses what lib/q refuses', () => {
    for (const q of [',', 'k', '=v', 'k=', 'k=~', 'k=[', 'k=[]', 'k=[~]', 'k=[~~]', 'k=[1~2~3]', 'k={1 2', 'k=(1 2']) {
      badRequest(() => parseQuery(q));
    }
  });

  it('decodes the value once more, as Harbor does for q=tags%3Dnil, keeping a plus sign', () => {
    expect(parseQuery('tags%3Dnil').get('tags')).toEqual({ op: 'exact', value: 'nil' });
    expect(parseQuery('q=tags%3Dnil').get('q')).toEqual({ op: 'exact', value: 'tags=nil' });
    expect(parseQuery('media_type=application/vnd.oci.image.config.v1+json').get('media_type')).toEqual({
      op: 'exact',
      value: 'application/vnd.oci.image.config.v1+json',
    });
    expect(parseQuery('name=100%').get('name')).toEqual({ op: 'exact', value: '100%' });
  });

  it('escapes a leading pattern character with a backslash', () => {
    expect(parseQuery('name=\\~abc').get('name')).toEqual({ op: 'exact', value: '~abc' });
    expect(parseQuery('name=\\{x}').get('name')).toEqual({ op: 'exact', value: '{x}' });
  });

  it('lets a repeated key win with its last value', () => {
    expect(parseQuery('k=1,k=2').get('k')).toEqual({ op: 'exact', value: '2' });
  });

  it('returns no conditions for an absent or empty q', () => {
    expect(parseQuery(undefined).size).toBe(0);
    expect(parseQuery('').size).toBe(0);
  });

  it('refuses an overlong q', () => {
    badRequest(() => parseQuery(`name=${'a'.repeat(5000)}`));
  });
});

describe('sort, keys and values', () => {
  it('parses sort=name,-creation_time', () => {
    expect(parseSort('name,-creation_time')).toEqual([
      { key: 'name', desc: false },
      { key: 'creation_time', desc: true },
    ]);
    expect(parseSort(undefined)).toEqual([]);
    expect(parseSort(' , -')).toEqual([]);
  });

  it('refuses unknown keys and unsupported patterns per endpoint', () => {
    const allowed = { name: ['exact', 'fuzzy'], project_id: ['exact', 'or'] } as const;
    checkConditions(parseQuery('name=~a,project_id={1 2}'), allowed);
    badRequest(() => checkConditions(parseQuery('colour=red'), allowed));
    badRequest(() => checkConditions(parseQuery('name=[a~b]'), allowed));
    badRequest(() => checkConditions(parseQuery('toString=x'), allowed));
    checkSort(parseSort('-name'), ['name']);
    badRequest(() => checkSort(parseSort('size'), ['name']));
  });

  it('reads integers and Harbor times, refusing anything else', () => {
    expect(asInt('project_id', '42')).toBe(42);
    badRequest(() => asInt('project_id', '4x'));
    badRequest(() => asInt('project_id', '1e3'));
    expect(asTime('t', '2020-03-04T17:08:23')).toBe(Date.UTC(2020, 2, 4, 17, 8, 23));
    expect(asTime('t', '2020-04-09 02:36:00')).toBe(Date.UTC(2020, 3, 9, 2, 36, 0));
    expect(asTime('t', '2020-04-09T02:36:00.250Z')).toBe(Date.UTC(2020, 3, 9, 2, 36, 0, 250));
    badRequest(() => asTime('t', 'yesterday'));
    badRequest(() => asTime('t', '2020-13-45T99:00:00'));
  });

  it('gives the accepted values of exact and or conditions', () => {
    expect(anyOf({ op: 'exact', value: 'a' })).toEqual(['a']);
    expect(anyOf({ op: 'or', values: ['a', 'b'] })).toEqual(['a', 'b']);
    expect(anyOf({ op: 'fuzzy', value: 'a' })).toBeUndefined();
  });
});
