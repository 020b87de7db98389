import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { FhirOperationDefinition } from '@fa/fhir';
import { FHIR_OPERATION } from './fhir-operation.decorator';

/** Every operation the routes implement, found from their @FhirOperation declarations at start. */
@Injectable()
export class OperationRegistry implements OnModuleInit {
  private readonly byId = new Map<string, FhirOperationDefinition>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getControllers()) {
      const prototype = (wrapper.metatype as { prototype?: object } | undefined)?.prototype;
      if (!prototype) continue;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[method];
        if (typeof handler !== 'function') continue;
        const definition = this.reflector.get<FhirOperationDefinition | undefined>(FHIR_OPERATION, handler);
        if (!definition) continue;
        if (this.byId.has(definition.id)) throw new Error(`Operation ${definition.id} is implemented twice`);
        this.byId.set(definition.id, definition);
      }
    }
  }

  definitions(): FhirOperationDefinition[] {
    return [...this.byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  definition(id: string): FhirOperationDefinition | undefined {
    return this.byId.get(id);
  }
}
