// Issue 17, the Helm chart: every manifest it renders, in the CPU and GPU profiles and
// with every option on, validates against the Kubernetes, KEDA and prometheus-operator
// schemas (kubernetes-models, compiled with ajv); and the parts that must agree with
// the server do: probe paths it serves, SGL_OMNI_ variables serve reads, metric names
// /metrics exposes, a grace period above delay + drain, selectors that match the pods,
// and a pipeline ConfigMap that `config check` accepts. helm is not installed on CI:
// test/fixtures/deploy/helm-lite.ts renders the chart's template subset, refusing more.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { buildProgram } from '../src/cli.js';
import { loadPipelineConfig } from '../src/config/index.js';
import { PROBE_PATHS } from '../src/server/info-routes.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { repoRoot } from '../src/util/paths.js';
import { ScriptedPipeline } from './fixtures/server/scripted-pipeline.js';
import { renderChart, type Rendered } from './fixtures/deploy/helm-lite.js';

const CHART = path.join(repoRoot(), 'deploy', 'helm', 'sgl-omni');
const GPU = YAML.parse(fs.readFileSync(path.join(CHART, 'values-gpu.yaml'), 'utf8'));
const EVERYTHING_ON = {
  pipeline: fs.readFileSync(path.join(repoRoot(), 'pipelines', 'qwen3-asr.yaml'), 'utf8'),
  model: { servedModelName: 'whisper-1,asr' },
  apiKey: { existingSecret: 'asr-key' },
  extraEnv: [{ name: 'SGL_OMNI_REQUEST_TIMEOUT_S', value: '120' }],
  nodeSelector: { 'node.kubernetes.io/instance-type': 'c7i.4xlarge' },
  serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
  keda: { enabled: true, minReplicaCount: 0, latencyGuard: { enabled: true } },
};
const PROFILES: Record<string, object[]> = {
  'cpu, defaults': [],
  'cpu, everything on': [EVERYTHING_ON],
  'gpu, everything on': [GPU, EVERYTHING_ON],
  'cpu, cache per pod (no PVC)': [{ cache: { persistence: { enabled: false } } }],
};

/** Each kind the chart renders, with its schema-checked model. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'v1 ConfigMap': ConfigMap,
  'v1 PersistentVolumeClaim': PersistentVolumeClaim,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1 ServiceMonitor': ServiceMonitor,
  'keda.sh/v1alpha1 ScaledObject': ScaledObject,
};
const kindOf = (r: Rendered) => `${r.manifest.apiVersion} ${r.manifest.kind}`;
const one = (rendered: Rendered[], kind: string) => rendered.find((r) => r.manifest.kind === kind)?.manifest as never as Record<string, any>;

function validate(manifest: object): string | undefined {
  const m = manifest as Rendered['manifest'];
  const Model = MODELS[`${m.apiVersion} ${m.kind}`];
  if (!Model) return `no schema for ${m.apiVersion} ${m.kind}`;
  try {
    new Model(manifest as never).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

for (const [profile, overrides] of Object.entries(PROFILES)) {
  t.test(`${profile}: every rendered manifest validates against its schema`, async (t) => {
    const rendered = renderChart(CHART, overrides);
    for (const r of rendered) t.equal(validate(r.manifest), undefined, `${r.source}: ${kindOf(r)} ${r.manifest.metadata.name}`);
    const kinds = rendered.map(kindOf).sort();
    const expected = ['apps/v1 Deployment', 'v1 Service', 'policy/v1 PodDisruptionBudget'];
    if (profile !== 'cpu, cache per pod (no PVC)') expected.push('v1 PersistentVolumeClaim');
    if (overrides.includes(EVERYTHING_ON)) expected.push('v1 ConfigMap', 'monitoring.coreos.com/v1 ServiceMonitor', 'keda.sh/v1alpha1 ScaledObject');
    t.same(kinds, expected.sort(), 'the kinds this profile needs, no more');
  });
}

t.test('the validators catch a broken manifest (the check above can fail)', async (t) => {
  const deployment = one(renderChart(CHART, []), 'Deployment');
  t.match(validate({ ...deployment, spec: { ...deployment.spec, replicas: 'two' } }), /replicas must be integer/);
  const scaled = one(renderChart(CHART, [EVERYTHING_ON]), 'ScaledObject');
  t.match(validate({ ...scaled, spec: { ...scaled.spec, triggers: [{ type: 'prometheus', metadata: { threshold: 4 } }] } }), /threshold must be string/);
  const monitor = one(renderChart(CHART, [EVERYTHING_ON]), 'ServiceMonitor');
  t.match(validate({ ...monitor, spec: { selector: {} } }), /spec must have required property endpoints/);
});

t.test('the Deployment agrees with the server: probes, variables, grace period, selectors', async (t) => {
  const serve = (await buildProgram()).commands.find((c) => c.name() === 'serve')!;
  const variables = new Set(serve.options.map((o) => o.envVar));
  for (const [profile, overrides] of Object.entries(PROFILES)) {
    const rendered = renderChart(CHART, overrides);
    const values = { ...YAML.parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) };
    const deployment = one(rendered, 'Deployment');
    const pod = deployment.spec.template;
    const server = pod.spec.containers.find((c: { name: string }) => c.name === 'server');
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) t.ok(PROBE_PATHS.includes(server[probe].httpGet.path), `${profile}: ${probe} ${server[probe].httpGet.path} is served`);
    t.same([server.startupProbe.httpGet.path, server.readinessProbe.httpGet.path, server.livenessProbe.httpGet.path], ['/startupz', '/readyz', '/livez']);
    for (const container of [server, ...(pod.spec.initContainers ?? [])]) {
      for (const { name } of container.env) t.ok(name === 'HF_HOME' || variables.has(name), `${profile}: ${container.name} sets ${name}, a variable serve reads`);
    }
    const env = Object.fromEntries(server.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    const budget = Number(env.SGL_OMNI_SHUTDOWN_DELAY_S) + Number(env.SGL_OMNI_SHUTDOWN_TIMEOUT_S);
    t.ok(pod.spec.terminationGracePeriodSeconds > budget, `${profile}: grace ${pod.spec.terminationGracePeriodSeconds} s > delay + drain ${budget} s`);
    t.ok(Number(env.SGL_OMNI_SHUTDOWN_DELAY_S) > server.readinessProbe.periodSeconds * server.readinessProbe.failureThreshold, `${profile}: readiness is seen failing before the drain starts`);
    t.same(deployment.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'sgl-omni', 'app.kubernetes.io/instance': 'asr' });
    for (const kind of ['Service', 'PodDisruptionBudget']) {
      const selector = one(rendered, kind).spec.selector;
      t.same(selector.matchLabels ?? selector, deployment.spec.selector.matchLabels, `${profile}: the ${kind} selects the pods`);
    }
    t.equal(pod.spec.securityContext.runAsNonRoot, true);
    t.equal(values.image.repository, server.image.split(':')[0]);
  }
  const gpu = one(renderChart(CHART, [GPU]), 'Deployment').spec.template.spec;
  t.equal(gpu.containers[0].resources.limits['nvidia.com/gpu'], 1, 'GPU profile asks for one GPU');
  t.same(gpu.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
  t.notOk(gpu.initContainers, 'GPU profile: fp16 graphs build at start, no convert step');
  const cpu = one(renderChart(CHART, []), 'Deployment').spec.template.spec;
  t.notOk(cpu.containers[0].resources.limits['nvidia.com/gpu']);
  t.match(cpu.initContainers[0].args, ['convert', '--model-path', '$(SGL_OMNI_MODEL_PATH)', '--cache-dir', '$(SGL_OMNI_CACHE_DIR)', '--precision', 'int8']);
});

t.test('the ScaledObject and ServiceMonitor read metrics /metrics exposes, from the Deployment they scale', async (t) => {
  const rendered = renderChart(CHART, [EVERYTHING_ON]);
  const scaled = one(rendered, 'ScaledObject');
  t.equal(scaled.spec.scaleTargetRef.name, one(rendered, 'Deployment').metadata.name);
  t.equal(scaled.spec.minReplicaCount, 0, 'scale to zero is an option');
  t.notOk(one(rendered, 'Deployment').spec.replicas, 'KEDA owns the replica count: the Deployment sets none');
  const metrics = new ServerMetrics([new ScriptedPipeline()]);
  const exposition = await metrics.render();
  for (const trigger of scaled.spec.triggers) {
    const names = String(trigger.metadata.query).match(/sgl_omni_[a-z_]+/g)!;
    for (const name of names) t.match(exposition, new RegExp(`^# TYPE ${name.replace(/_bucket$/, '')} `, 'm'), `${trigger.name}: ${name} is exposed`);
  }
  t.match(scaled.spec.triggers[0].metadata.query, 'sum(sgl_omni_requests_waiting{namespace="speech",service="asr"})');
  const monitor = one(rendered, 'ServiceMonitor');
  t.same(monitor.spec.endpoints[0], { port: 'http', path: '/metrics', interval: '15s' });
  t.equal(monitor.metadata.labels.release, 'prometheus');
});

t.test('the pipeline ConfigMap is a pipeline `config check` accepts, mounted where SGL_OMNI_PIPELINE points', async (t) => {
  const rendered = renderChart(CHART, [EVERYTHING_ON]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-helm-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'pipeline.yaml');
  fs.writeFileSync(file, one(rendered, 'ConfigMap').data['pipeline.yaml']);
  t.equal((await loadPipelineConfig(file)).config.name, 'qwen3-asr');
  const server = one(rendered, 'Deployment').spec.template.spec.containers[0];
  const mount = server.volumeMounts.find((m: { name: string }) => m.name === 'pipeline');
  t.equal(server.env.find((e: { name: string }) => e.name === 'SGL_OMNI_PIPELINE').value, `${mount.mountPath}/pipeline.yaml`);
});

t.test('the renderer refuses what it does not implement, with the place', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-helm-lite-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'templates'));
  fs.writeFileSync(path.join(dir, 'Chart.yaml'), 'name: x\nversion: 0.1.0\nappVersion: "1"\n');
  fs.writeFileSync(path.join(dir, 'values.yaml'), 'items: [a]\n');
  const attempt = (template: string) => {
    fs.writeFileSync(path.join(dir, 'templates', 'a.yaml'), template);
    return () => renderChart(dir, []);
  };
  t.throws(attempt('kind: A\n{{ range .Values.items }}x{{ end }}\n'), /templates\/a\.yaml:2: 'range' is outside the subset/);
  t.throws(attempt('kind: A\nname: {{ include "x" . }}\n'), /templates\/a\.yaml:2: 'include' is outside the subset/);
  t.throws(attempt('kind: A\nname: {{ .Values.items | upper }}\n'), /function 'upper' is outside the subset/);
  t.throws(attempt('kind: A\nname: {{ .Values.missing }}\n'), /printing a missing value/);
  t.throws(attempt('kind: A\n{{ if .Values.items }}\n'), /if without end/);
});
