import { readIdentityConfig } from '@fa/platform';
import { DEFAULT_IDENTITY_MODEL, identityMatcherFromConfig, survivorshipFromConfig } from './identity-config';

const defaults = readIdentityConfig({});

describe('identityMatcherFromConfig', () => {
  it("names the model's content in the matcher version every automatic link records", () => {
    const shipped = identityMatcherFromConfig(defaults);
    expect(shipped.version).toMatch(/^fellegi-sunter\/2@sha256:[0-9a-f]{16}$/);
    // The same content (keys in any order) is the same version; other parameters are another.
    const reorder = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reorder)
        : typeof value === 'object' && value !== null
          ? Object.fromEntries(
              Object.entries(value)
                .reverse()
                .map(([k, v]) => [k, reorder(v)]),
            )
          : value;
    const reordered = reorder(DEFAULT_IDENTITY_MODEL);
    expect(Object.keys(reordered as object)[0]).toBe('termFrequencies');
    const fromFile = identityMatcherFromConfig({
      ...defaults,
      model: { path: '/models/a.json', parameters: reordered },
    });
    expect(fromFile.version).toBe(shipped.version);
    const other = identityMatcherFromConfig({
      ...defaults,
      model: {
        path: '/models/b.json',
        parameters: { ...DEFAULT_IDENTITY_MODEL, priorMatchProbability: 0.02 },
      },
    });
    expect(other.version).not.toBe(shipped.version);
  });

  it('uses the configured thresholds', () => {
    const strict = identityMatcherFromConfig({
      ...defaults,
      matchProbability: 0.999999,
      possibleMatchProbability: 0.9,
    });
    const explanation = { weight: 10, probability: 1 / (1 + 2 ** -10), comparisons: [] };
    expect(identityMatcherFromConfig(defaults).classify(explanation)).toBe('MATCH');
    expect(strict.classify(explanation)).toBe('POSSIBLE_MATCH');
  });

  it('refuses a model that is not a model, naming the file', () => {
    const model = (parameters: unknown) => ({ ...defaults, model: { path: '/models/x.json', parameters } });
    expect(() => identityMatcherFromConfig(model([]))).toThrow(
      /IDENTITY_MODEL: \/models\/x.json: priorMatchProbability/,
    );
    expect(() => identityMatcherFromConfig(model({ priorMatchProbability: 0.1 }))).toThrow(
      /fields must list/,
    );
    expect(() =>
      identityMatcherFromConfig(
        model({ ...DEFAULT_IDENTITY_MODEL, fields: DEFAULT_IDENTITY_MODEL.fields.slice(1) }),
      ),
    ).toThrow(/IDENTITY_MODEL: \/models\/x.json: One set of m\/u parameters is needed per comparator/);
  });
});

describe('survivorshipFromConfig', () => {
  it('applies the configured rules over the defaults, and names what it refuses', () => {
    const policy = survivorshipFromConfig({
      ...defaults,
      survivorship: { rules: { name: 'most-complete' } },
    });
    expect(policy.rules.name).toBe('most-complete');
    expect(policy.rules.identifier).toBe('union');
    expect(() =>
      survivorshipFromConfig({ ...defaults, survivorship: { rules: { name: 'loudest' } } }),
    ).toThrow('IDENTITY_SURVIVORSHIP: name: loudest is not a known field and rule');
    expect(() =>
      survivorshipFromConfig({ ...defaults, survivorship: { trustedSources: 'registry' } }),
    ).toThrow(/IDENTITY_SURVIVORSHIP: "trustedSources" must be a list/);
  });
});
