import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { environmentTheAppReads, readRepoFile, REPO_ROOT } from './app-environment';

/**
 * No cluster runs here: every object of infra/k8s is validated against the Kubernetes API schemas with
 * kubernetes-models (4.x: 5.x is ES modules only, which Jest on Node 20 cannot require), then checked for what
 * our roles need. The schemas allow unknown fields, so a misspelt field is not caught here.
 */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

interface Kustomization {
  resources: string[];
  patches?: { path: string }[];
}

/** The objects of a kustomization, following resource folders (kustomize's own rule: a folder has one). */
function load(dir: string): { objects: K8sObject[]; patches: K8sObject[] } {
  const kustomization = parse(readRepoFile(path.join(dir, 'kustomization.yaml'))) as Kustomization;
  const objects: K8sObject[] = [];
  const patches: K8sObject[] = [];
  for (const resource of kustomization.resources) {
    const file = path.join(dir, resource);
    expect([file, existsSync(path.join(REPO_ROOT, file))]).toEqual([file, true]);
    if (resource.endsWith('.yaml')) objects.push(...documents(file));
    else objects.push(...load(file).objects);
  }
  for (const patch of kustomization.patches ?? []) patches.push(...documents(path.join(dir, patch.path)));
  return { objects, patches };
}

function documents(file: string): K8sObject[] {
  return parseAllDocuments(readRepoFile(file)).map((d) => d.toJSON() as K8sObject);
}

const base = load('infra/k8s/base').objects;
const production = load('infra/k8s/overlays/production');
const byKind = (kind: string) => base.filter((o) => o.kind === kind);
const named = (kind: string, name: string) => base.find((o) => o.kind === kind && o.metadata.name === name)!;
const deployments = byKind('Deployment');
const roleOf = (d: K8sObject): string =>
  d.spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === 'ROLES')?.value;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('infra/k8s', () => {
  it('every object of the base and the production overlay is valid against the API schema', () => {
    const all = [...base, ...production.objects];
    expect(all.length).toBeGreaterThanOrEqual(10);
    for (const object of all) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect([object.kind, object.metadata.name, Boolean(Model)]).toEqual([
        object.kind,
        object.metadata.name,
        true,
      ]);
      expect(() => new Model(object as never).validate()).not.toThrow();
    }
  });

  it('the validator does reject a broken object (so the check above means something)', () => {
    const api = structuredClone(named('Deployment', 'fhir-aggregator-api'));
    api.spec.replicas = 'two';
    expect(() => new Deployment(api as never).validate()).toThrow(/replicas must be integer/);
    delete api.spec.replicas;
    delete api.spec.template.spec.containers[0].readinessProbe.httpGet.port;
    expect(() => new Deployment(api as never).validate()).toThrow(/port/);
  });

  it('one Deployment per role, each ready on /ready and alive on /health at a port its container opens', () => {
    expect(deployments.map(roleOf).sort()).toEqual(['api', 'export', 'kafka', 'projections']);
    for (const deployment of deployments) {
      const pod = deployment.spec.template;
      expect(matches(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
      const [container] = pod.spec.containers;
      const env = Object.fromEntries(
        container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
      );
      const portNumber = Number(roleOf(deployment) === 'api' ? env.PORT : env.HEALTH_PORT);
      const port = container.ports.find(
        (p: { name: string }) => p.name === container.readinessProbe.httpGet.port,
      );
      expect([deployment.metadata.name, port?.containerPort]).toEqual([deployment.metadata.name, portNumber]);
      expect(container.readinessProbe.httpGet.path).toBe('/ready');
      expect(container.livenessProbe.httpGet.path).toBe('/health');
      expect(container.livenessProbe.httpGet.port).toBe(container.readinessProbe.httpGet.port);
    }
  });

  it('the API is a Service over the API pods with a CPU autoscaler and a disruption budget', () => {
    const api = named('Deployment', 'fhir-aggregator-api');
    const podLabels = api.spec.template.metadata.labels;
    const service = named('Service', 'fhir-aggregator-api');
    expect(matches(service.spec.selector, podLabels)).toBe(true);
    const containerPorts = api.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name);
    expect(containerPorts).toContain(service.spec.ports[0].targetPort);
    const hpa = named('HorizontalPodAutoscaler', 'fhir-aggregator-api');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: api.metadata.name,
    });
    expect(hpa.spec.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
    ]);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const budgets = byKind('PodDisruptionBudget');
    expect(
      budgets.some((b) => matches(b.spec.selector.matchLabels, podLabels) && b.spec.minAvailable >= 1),
    ).toBe(true);
    for (const budget of budgets)
      expect(
        deployments.some((d) => matches(budget.spec.selector.matchLabels, d.spec.template.metadata.labels)),
      ).toBe(true);
  });

  it('export pods write the files to a ReadWriteMany claim the API pods mount at the same EXPORT_DIR', () => {
    const exportDir = named('ConfigMap', 'fhir-aggregator').data!.EXPORT_DIR;
    expect(exportDir).toMatch(/^\//);
    const claimAt = (deployment: K8sObject) => {
      const pod = deployment.spec.template.spec;
      const mount = pod.containers[0].volumeMounts?.find(
        (m: { mountPath: string }) => m.mountPath === exportDir,
      );
      return pod.volumes?.find((v: { name: string }) => v.name === mount?.name)?.persistentVolumeClaim
        ?.claimName;
    };
    const writers = deployments.filter((d) => roleOf(d).split(',').includes('export'));
    const readers = deployments.filter((d) => roleOf(d).split(',').includes('api'));
    expect(writers.length).toBeGreaterThanOrEqual(1);
    const claim = named('PersistentVolumeClaim', claimAt(writers[0]));
    expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
    for (const deployment of [...writers, ...readers])
      expect([deployment.metadata.name, claimAt(deployment)]).toEqual([
        deployment.metadata.name,
        claim.metadata.name,
      ]);
  });

  it('runs as many Kafka consumers as the topic has partitions, the partitions compose creates', () => {
    const consumer = deployments.find((d) => roleOf(d) === 'kafka')!;
    const partitions = Number(consumer.metadata.annotations!['fhir-aggregator/topic-partitions']);
    expect(consumer.spec.replicas).toBe(partitions);
    const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as {
      services: Record<string, { command?: string[] }>;
    };
    const command = compose.services['kafka-topics'].command!;
    expect(Number(command[command.indexOf('--partitions') + 1])).toBe(partitions);
  });

  it('gives every container requests and limits, memory above the measured peak of one process', () => {
    const mebibytes = (quantity: string) => {
      const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
      if (!match) throw new Error(`memory as Mi or Gi, got ${quantity}`);
      return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
    };
    const pods = [...deployments, ...byKind('Job')].map((o) => o.spec.template.spec);
    for (const container of pods.flatMap((p) => p.containers)) {
      const { requests, limits } = container.resources;
      expect(requests.cpu && requests.memory && limits.cpu && limits.memory).toBeTruthy();
      // ~540 MB peak RSS of one process in the Kafka ingest bench: requests hold it, limits leave headroom.
      expect(mebibytes(requests.memory)).toBeGreaterThanOrEqual(540);
      expect(mebibytes(limits.memory)).toBeGreaterThan(mebibytes(requests.memory));
    }
  });

  it('takes DATABASE_URL from a Secret and sets only variables the service reads', () => {
    const read = environmentTheAppReads();
    const secret = named('Secret', 'fhir-aggregator');
    expect(Object.keys(secret.stringData!)).toEqual(expect.arrayContaining(['DATABASE_URL']));
    const config = named('ConfigMap', 'fhir-aggregator');
    expect(config.data!.EVENT_STORE).toBe('postgres');
    for (const variable of [...Object.keys(secret.stringData!), ...Object.keys(config.data!)])
      expect([variable, read.has(variable)]).toEqual([variable, true]);
    for (const pod of [...deployments, ...byKind('Job')].map((o) => o.spec.template.spec)) {
      const container = pod.containers[0];
      for (const e of container.env ?? []) expect([e.name, read.has(e.name)]).toEqual([e.name, true]);
      expect(container.envFrom).toEqual([
        { configMapRef: { name: config.metadata.name } },
        { secretRef: { name: secret.metadata.name } },
      ]);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
    }
  });

  it('has a Job that replays a projection with the compiled CLI', () => {
    const [job] = byKind('Job');
    const [container] = job.spec.template.spec.containers;
    expect(container.command).toEqual(['node', 'dist/apps/cli/src/main.js', 'replay', 'fhir-store']);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
  });

  it('the production overlay patches objects that exist and names its namespace', () => {
    const overlay = parse(readRepoFile('infra/k8s/overlays/production/kustomization.yaml')) as {
      namespace: string;
      images: { name: string }[];
    };
    expect(production.objects.find((o) => o.kind === 'Namespace')!.metadata.name).toBe(overlay.namespace);
    for (const patch of production.patches)
      expect(base.some((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name)).toBe(true);
    const images = new Set(
      [...deployments, ...byKind('Job')].flatMap((o) =>
        o.spec.template.spec.containers.map((c: { image: string }) => c.image.split(':')[0]),
      ),
    );
    expect([...images]).toEqual(overlay.images.map((i) => i.name));
  });
});
