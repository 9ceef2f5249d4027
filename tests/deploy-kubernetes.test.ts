import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { serveCommand } from '../src/commands/serve.js';

/**
 * deploy/kubernetes/ is plain manifests composed by kustomizations (Helm is not available here,
 * and a kustomization needs no templating language). The test renders each variant the way
 * `kubectl kustomize` does for the subset used (resources: files and directories, recursively)
 * and validates every object against the pinned schemas in tests/fixtures/kubernetes-schemas/
 * (Kubernetes 1.30 types; ServiceMonitor and ScaledObject from their documented fields). Then it
 * checks that the objects agree with each other and with the server: labels and ports, probes
 * on the real routes, the drain timeout within the grace period, flags serve accepts.
 */

const DEPLOY = fileURLToPath(new URL('../deploy/kubernetes/', import.meta.url));
const SCHEMAS = fileURLToPath(new URL('./fixtures/kubernetes-schemas/', import.meta.url));

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: any };

// strictSchema: an unknown keyword in a schema (a typo there) is an error, not ignored.
const ajv = new Ajv2020({ allErrors: true, strictSchema: true, strictTypes: false, strictRequired: false });
for (const file of readdirSync(SCHEMAS).filter((f) => f.endsWith('.json'))) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')));
const schemaOf = (id: string) => ajv.getSchema(`https://qwen3-serve.test/kubernetes/${id}`)!;
const VALIDATORS: Record<string, ReturnType<typeof schemaOf>> = {
  'apps/v1 Deployment': schemaOf('v1.30/apps-v1-deployment.json'),
  'v1 Service': schemaOf('v1.30/v1-service.json'),
  'v1 PersistentVolumeClaim': schemaOf('v1.30/v1-persistentvolumeclaim.json'),
  'autoscaling/v2 HorizontalPodAutoscaler': schemaOf('v1.30/autoscaling-v2-horizontalpodautoscaler.json'),
  'monitoring.coreos.com/v1 ServiceMonitor': schemaOf('crds/monitoring-coreos-com-v1-servicemonitor.json'),
  'keda.sh/v1alpha1 ScaledObject': schemaOf('crds/keda-sh-v1alpha1-scaledobject.json'),
};
const validateKustomization = schemaOf('kustomize-v1beta1-kustomization.json');

/** The objects a kustomization directory yields: its resources in order, directories recursively. */
function render(dir: string): K8sObject[] {
  const kustomization = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0].toJS();
  expect(validateKustomization(kustomization), `${dir}/kustomization.yaml: ${ajv.errorsText(validateKustomization.errors)}`).toBe(true);
  return (kustomization.resources as string[]).flatMap((resource) => {
    const path = resolve(dir, resource);
    if (statSync(path).isDirectory()) return render(path);
    return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => {
      expect(doc.errors, path).toEqual([]);
      return doc.toJS() as K8sObject;
    });
  });
}

function validate(object: K8sObject): string[] {
  const check = VALIDATORS[`${object.apiVersion} ${object.kind}`];
  if (!check) return [`no schema for ${object.apiVersion} ${object.kind}: an object the test does not know`];
  return check(object) ? [] : (check.errors ?? []).map((e) => `${object.kind}/${object.metadata?.name}${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

const one = (objects: K8sObject[], kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0];
};

/** `serve`'s own parser over the container's arguments: an unknown or malformed flag fails here. */
function parseServeArgs(args: string[]): Record<string, unknown> {
  const command = serveCommand().exitOverride();
  expect(args[0]).toBe('serve');
  const { operands, unknown } = command.parseOptions(args.slice(1));
  expect(operands).toEqual([]);
  expect(unknown).toEqual([]);
  return command.opts();
}

const VARIANTS = { keda: 'ScaledObject', hpa: 'HorizontalPodAutoscaler' } as const;

describe('deploy/kubernetes: manifests and kustomizations', () => {
  for (const [variant, autoscaler] of Object.entries(VARIANTS)) {
    it(`the ${variant} variant renders to valid objects: Deployment, Service, ServiceMonitor, models claim and a ${autoscaler}`, () => {
      const objects = render(join(DEPLOY, variant));
      expect(objects.map((o) => o.kind).sort()).toEqual(['Deployment', 'PersistentVolumeClaim', 'Service', 'ServiceMonitor', autoscaler].sort());
      expect(objects.flatMap(validate)).toEqual([]);
      const deployment = one(objects, 'Deployment');
      const target = one(objects, autoscaler).spec.scaleTargetRef;
      expect(target.name).toBe(deployment.metadata.name);
      // The autoscaler owns the replica count; a fixed one would be reset by every apply.
      expect(deployment.spec.replicas).toBeUndefined();
    });
  }

  it('the schemas are strict: a misspelt field, a wrong type or a missing required field is refused', () => {
    const deployment = one(render(join(DEPLOY, 'base')), 'Deployment');
    const broken = (mutate: (d: any) => void) => {
      const copy = structuredClone(deployment) as any;
      mutate(copy);
      return validate(copy);
    };
    expect(broken(() => {})).toEqual([]);
    expect(broken((d) => (d.spec.template.spec.containers[0].livenessProbe.httpGet.paht = '/health')).join()).toMatch(/must NOT have additional properties/);
    expect(broken((d) => (d.spec.template.spec.terminationGracePeriodSeconds = '45')).join()).toMatch(/must be integer/);
    expect(broken((d) => delete d.spec.selector).join()).toMatch(/must have required property 'selector'/);
    expect(broken((d) => (d.spec.template.spec.containers[0].resources.requests.memory = '6 GB')).join()).not.toBe('');
  });

  it('Service, ServiceMonitor and Deployment find each other by labels and port names', () => {
    const objects = render(join(DEPLOY, 'base'));
    const deployment = one(objects, 'Deployment');
    const service = one(objects, 'Service');
    const monitor = one(objects, 'ServiceMonitor');
    const pod = deployment.spec.template;
    expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(pod.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    const containerPorts = pod.spec.containers[0].ports as { name: string; containerPort: number }[];
    const servicePort = service.spec.ports[0];
    expect(containerPorts.map((p) => p.name)).toContain(servicePort.targetPort);
    expect(monitor.spec.endpoints.map((e: { port: string }) => e.port)).toEqual([servicePort.name]);
    expect(monitor.spec.endpoints[0].path).toBe('/metrics');
  });

  it("the container runs serve with flags serve accepts: probes on /health and /ready, its drain within the grace period, models from the volume, secrets for the key and database", () => {
    const deployment = one(render(join(DEPLOY, 'base')), 'Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const flags = parseServeArgs(container.args);
    const port = container.ports.find((p: { name: string }) => p.name === 'http').containerPort;
    expect(flags.port).toBe(port);
    expect(flags.host).toBe('0.0.0.0');

    expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    // The startup probe waits for the model: at least 5 minutes of /ready answering 503.
    const startup = container.startupProbe;
    expect(startup.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(startup.periodSeconds * startup.failureThreshold).toBeGreaterThanOrEqual(300);

    // SIGTERM comes after preStop; the drain then takes up to --drain-timeout, plus the
    // server's 2 s flush grace. The kubelet's SIGKILL must come after all of it.
    const preStop = container.lifecycle.preStop.exec.command as string[];
    expect(preStop[0]).toBe('sleep');
    const preStopSeconds = Number(preStop[1]);
    expect(flags.drainTimeout).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStopSeconds + (flags.drainTimeout as number) + 2);

    expect(container.resources.requests).toHaveProperty('cpu');
    expect(container.resources.requests).toHaveProperty('memory');
    expect(container.resources.limits).toHaveProperty('memory');

    const models = pod.volumes.find((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim);
    const mount = container.volumeMounts.find((m: { name: string }) => m.name === models.name);
    expect(mount.readOnly).toBe(true);
    expect(String(flags.model).startsWith(`${mount.mountPath}/`)).toBe(true);
    const dataMount = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === flags.dataDir);
    expect(dataMount, 'the --data-dir is a mounted volume (the root file system is read-only)').toBeDefined();
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pod.securityContext.runAsNonRoot).toBe(true);

    const env = new Map<string, any>(container.env.map((e: { name: string }) => [e.name, e]));
    for (const name of ['QWEN3_SERVE_API_KEY', 'QWEN3_SERVE_DATABASE_URL']) {
      expect(env.get(name)?.valueFrom?.secretKeyRef, `${name} comes from a Secret`).toMatchObject({ name: 'qwen3-serve' });
    }
    // Every variable is one serve reads.
    const serveEnv = new Set(serveCommand().options.map((o) => o.envVar));
    for (const name of env.keys()) expect(serveEnv.has(name), name).toBe(true);
  });

  it('the image user of deploy/Dockerfile is the pod user, so runAsNonRoot can be checked', () => {
    const deployment = one(render(join(DEPLOY, 'base')), 'Deployment');
    const user = /^USER (\d+):(\d+)$/m.exec(readFileSync(join(DEPLOY, '..', 'Dockerfile'), 'utf8'));
    expect(user).not.toBeNull();
    expect(deployment.spec.template.spec.securityContext).toMatchObject({ runAsUser: Number(user![1]), runAsGroup: Number(user![2]) });
  });

  it('KEDA scales on vllm:num_requests_waiting and the batch backlog; the HPA on the same two signals', () => {
    const scaled = one(render(join(DEPLOY, 'keda')), 'ScaledObject');
    const queries = scaled.spec.triggers.map((t: { type: string; metadata: { query: string } }) => {
      expect(t.type).toBe('prometheus');
      return t.metadata.query;
    });
    expect(queries).toEqual([expect.stringContaining('vllm:num_requests_waiting'), expect.stringContaining('qwen3_serve_batch_lines_pending')]);
    // Scaling to zero would leave requests waiting minutes for a model to load.
    expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);

    const hpa = one(render(join(DEPLOY, 'hpa')), 'HorizontalPodAutoscaler');
    const names = hpa.spec.metrics.map((m: { type: string; pods?: { metric: { name: string } }; external?: { metric: { name: string } } }) => (m.pods ?? m.external)!.metric.name);
    expect(names).toEqual(['vllm_num_requests_waiting', 'qwen3_serve_batch_lines_pending']);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(1);
  });
});
