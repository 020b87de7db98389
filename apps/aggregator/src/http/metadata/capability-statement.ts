import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceOperation,
  CapabilityStatementRestSecurity,
} from 'fhir/r4';
import {
  FhirOperationDefinition,
  MAX_CHAIN_DEPTH,
  R4_RESOURCE_TYPES,
  r4SearchParameters,
  RESULT_PARAMETERS,
  SearchParameterRegistry,
} from '@fa/fhir';
import { CONTEXT_SERVED_RESOURCES } from './context-served-resources';

export const AS_OF_PARAMETER = {
  name: '_asOf',
  type: 'date' as const,
  documentation:
    'Answer as the server would have at this instant (record time). A date or partial dateTime means the end of that period.',
};

/**
 * What the server truthfully supports: the search parameters from the registry the index is built from, and the
 * operations from the OperationDefinitions the routes are declared with (OperationRegistry), so the statement
 * cannot list an operation that is not wired.
 */
export function buildCapabilityStatement(
  baseUrl: string,
  software: { name: string; version: string },
  operations: readonly FhirOperationDefinition[],
  /** With AUTH on: where SMART Backend Services tokens are obtained. */
  auth?: { tokenUrl: string },
): CapabilityStatement {
  const byType = new Map<string, CapabilityStatementRestResourceOperation[]>();
  for (const operation of operations.filter((o) => !o.system)) {
    for (const type of operation.resource ?? [])
      byType.set(type, [...(byType.get(type) ?? []), summary(operation)]);
  }
  const described = (resourcesCache ??= describeResources(r4SearchParameters()));
  const resource = described.map((indexed) => {
    const r = CONTEXT_SERVED_RESOURCES.get(indexed.type)?.(indexed) ?? indexed;
    return byType.has(r.type) ? { ...r, operation: byType.get(r.type) } : r;
  });
  // Types outside R4 that only offer operations (SQL on FHIR's ViewDefinition): listed with those operations.
  for (const [type, operation] of byType) {
    if (!described.some((r) => r.type === type)) resource.push({ type: type as never, operation });
  }
  // An implementation guide's CapabilityStatement is instantiated when its operations are served (Bulk Data).
  const instantiates = [
    ...new Set(
      operations
        .map(
          (o) =>
            IMPLEMENTATION_GUIDES.find((guide) => o.base?.startsWith(guide.operations))?.capabilityStatement,
        )
        .filter((url): url is string => url !== undefined),
    ),
  ];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    ...(instantiates.length > 0 ? { instantiates } : {}),
    software,
    implementation: {
      description: 'fhir-aggregator: event-sourced, temporal FHIR R4 aggregate',
      url: baseUrl,
    },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Read-only FHIR API over records aggregated from source systems. Writes arrive from sources (files, Kafka). ' +
          'Every read, search and Patient/$everything accepts _asOf to answer as of a past instant.',
        security: security(auth),
        resource,
        interaction: [{ code: 'history-system' }],
        operation: operations.filter((o) => o.system).map(summary),
        searchParam: RESULT_PARAMETERS.filter((name) => name !== '_format' && name !== '_pretty').map(
          (name) => (name === '_asOf' ? AS_OF_PARAMETER : { name, type: 'special' as const }),
        ),
      },
    ],
  };
}

/** Implementation guides whose OperationDefinitions our operations derive from (`base`), with their statements. */
const IMPLEMENTATION_GUIDES = [
  {
    operations: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/',
    capabilityStatement: 'http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data',
  },
];

/** rest.security: SMART-on-FHIR with the oauth-uris extension (SMART App Launch 2.x), or none with AUTH=off. */
function security(auth: { tokenUrl: string } | undefined): CapabilityStatementRestSecurity {
  if (!auth)
    return {
      description: 'AUTH=off: no token is checked. For local experiments only; never deploy like this.',
    };
  return {
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [{ url: 'token', valueUri: auth.tokenUrl }],
      },
    ],
    service: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' },
        ],
        text: 'SMART Backend Services: client_credentials with a private_key_jwt assertion (RS384 or ES384)',
      },
    ],
    description:
      'Every interaction needs a bearer token from the token endpoint (see .well-known/smart-configuration); ' +
      'SMART v2 system scopes (v1 mapped) per resource type, our own scopes for administration and MDM.',
  };
}

let resourcesCache: CapabilityStatementRestResource[] | undefined;

/**
 * Per type: the interactions the routes serve and exactly the search parameters the index holds (the registry
 * the projection and the query parser use), with the includes they allow.
 */
function describeResources(registry: SearchParameterRegistry): CapabilityStatementRestResource[] {
  const revIncludes = new Map<string, string[]>();
  for (const type of R4_RESOURCE_TYPES) {
    for (const param of registry.parametersOf(type)) {
      if (param.type !== 'reference') continue;
      for (const target of param.targets) {
        revIncludes.set(target, [...(revIncludes.get(target) ?? []), `${type}:${param.code}`]);
      }
    }
  }
  return R4_RESOURCE_TYPES.map((type) => {
    const params = registry.parametersOf(type);
    return {
      type,
      versioning: 'versioned',
      readHistory: true,
      updateCreate: false,
      conditionalCreate: false,
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
      interaction: [
        { code: 'read' },
        { code: 'vread' },
        { code: 'history-instance' },
        { code: 'history-type' },
        { code: 'search-type' },
      ],
      searchInclude: params.filter((p) => p.type === 'reference').map((p) => `${type}:${p.code}`),
      searchRevInclude: revIncludes.get(type) ?? [],
      searchParam: [
        ...params.map((p) => ({
          name: p.code,
          definition: p.definition,
          type: p.type,
          ...(p.type === 'reference' && p.targets.length > 0 ? chainable(p.targets) : {}),
          ...(p.type === 'composite'
            ? {
                documentation: `Composite: ${p.components!.map((c) => c.definition.code).join('$')}, each part with its own prefixes`,
              }
            : {}),
          ...(type === 'Provenance' && p.code === 'target'
            ? {
                documentation:
                  'target alone answers with our lineage: one Provenance per recorded version of the target resource',
              }
            : {}),
          ...(type === 'Patient' && p.code === '_tag'
            ? {
                documentation:
                  '_tag=http://hapifhir.io/fhir/NamingSystem/mdm-record-status|GOLDEN_RECORD finds golden patients (with _id, _count, _offset, _asOf, and Patient search parameters one of their members must match); otherwise Patient search finds source patients',
              }
            : {}),
        })),
        {
          name: '_has',
          type: 'special' as const,
          documentation: `Reverse chaining _has:<Type>:<reference>:<parameter>, nestable up to ${MAX_CHAIN_DEPTH} levels`,
        },
        AS_OF_PARAMETER,
      ],
    };
  });
}

/**
 * R4's searchParam has no `chain` element (R5 adds it): the chainable target types are listed in an extension of
 * R5's element, and in the documentation.
 */
function chainable(targets: string[]) {
  return {
    extension: [
      {
        url: CHAIN_EXTENSION,
        valueString: `Chains into ${targets.join(', ')} (up to ${MAX_CHAIN_DEPTH} levels)`,
      },
    ],
    documentation: `Chainable (<name>.<parameter>, up to ${MAX_CHAIN_DEPTH} levels) into ${targets.join(', ')}`,
  };
}
const CHAIN_EXTENSION =
  'http://hl7.org/fhir/5.0/StructureDefinition/extension-CapabilityStatement.rest.resource.searchParam.chain';

function summary(operation: FhirOperationDefinition): CapabilityStatementRestResourceOperation {
  return { name: operation.code, definition: operation.url, documentation: operation.title };
}
