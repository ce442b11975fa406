"""Generate repositories shaped like the real ones `fnops validate` was run on, for measuring what
it reports on whole repositories (not for timing: see gen_tree.py for that).

    python3 benches/gen_repos.py OUT_DIR

Writes three kinds of trees under OUT_DIR, each with `<tree>.expected.json` beside it: the
errors and the warnings other than hardening ones that a careful reviewer (or the API server)
would agree with, as `{"rule file": count}`; anything else is a false alarm, anything missing a
miss. The hardening warnings (`image-latest`, `probe-missing`, `resources-missing`,
`security-context`, `subpath-no-rollout`) are counted, not judged.
- `student-NN/` (25): the course's project 3 as students commit it: the ConfigMaps and the
  Deployment, a Compose file, CI, a dashboard app; some with the handout's misspelled keys, a
  `runtime-config` with `HANDLER_FUNCTION`, a zipped package, the `kubectl create configmap -o yaml`
  form (double-quoted), a handler importing a file the ConfigMap does not carry.
- `example-apps/`: an Argo CD example-apps repository: a Helm chart, Kustomize base and overlay,
  plain apps, hook Jobs with `generateName`, an app-of-apps, a big multi-document demo file.
- `k8s-examples/`: an old Kubernetes examples repository: removed APIs, ReplicationControllers
  with literal passwords, StatefulSets with claim templates, in-tree volume types, NodePorts.
"""
import base64
import io
import json
import os
import sys
import zipfile

OUT = sys.argv[1] if len(sys.argv) > 1 else "repos"
HERE = os.path.dirname(os.path.abspath(__file__))
HANDLER = open(os.path.join(HERE, "..", "functions", "metrics.py")).read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def block(text, indent=4):
    return "\n".join(" " * indent + line if line else "" for line in text.splitlines())


def course_deployment(ns, handler_env="", volume="pyfile", mount="/opt/usermodule.py", sub="pyfile"):
    sub = f"              subPath: {sub}\n" if sub else ""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: serverless-redis
  namespace: {ns}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: serverless-redis
  template:
    metadata:
      labels:
        app: serverless-redis
    spec:
      containers:
        - name: serverless-redis
          image: lucasmsp/serverless:redis
          imagePullPolicy: Always
          resources:
            requests:
              cpu: 100m
              memory: 300Mi
          volumeMounts:
            - name: pyfile
              mountPath: {mount}
{sub}          env:
            - name: REDIS_HOST
              value: 192.168.121.171
            - name: REDIS_PORT
              value: "6379"
            - name: REDIS_INPUT_KEY
              value: metrics
            - name: REDIS_OUTPUT_KEY
              valueFrom:
                configMapKeyRef:
                  name: outputkey
                  key: REDIS_OUTPUT_KEY
{handler_env}      volumes:
        - name: pyfile
          configMap:
            name: {volume}
"""


def student(n):
    root = os.path.join(OUT, f"student-{n:02}")
    ns = f"student{n:02}"
    expected = {}
    handler = HANDLER
    if n % 5 == 1:  # the handout's misspelled keys
        handler = handler.replace("bytes_sent", "bytes_sent1").replace("bytes_recv", "bytes_recv1")
        expected["input-key-unknown k8s/pyfile.yaml"] = 2
    env = ""
    files = {}
    if n % 7 == 2:  # a runtime-config naming another entry point
        handler = handler.replace("def handler(", "def compute(")
        env = "          envFrom:\n            - configMapRef:\n                name: runtime-config\n"
        files["k8s/runtime-config.yaml"] = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: runtime-config\n  namespace: {ns}\ndata:\n  HANDLER_FUNCTION: compute\n  MONITORING_PERIOD: \"5\"\n"
    if n == 9:  # imports a sibling file the single-file ConfigMap does not carry
        handler = "from stats import moving_average\n" + handler
        expected["handler-import k8s/pyfile.yaml"] = 1
    if n % 6 == 3:  # what `kubectl create configmap --from-file -o yaml` writes
        pyfile = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pyfile\n  namespace: " + ns + "\ndata:\n  pyfile: " + json.dumps(handler) + "\n"
    else:
        pyfile = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pyfile\n  namespace: {ns}\ndata:\n  pyfile: |\n{block(handler)}\n"
    if n % 8 == 4:  # a zipped package under a key that does not end in .zip
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("pkg/__init__.py", "")
            z.writestr("pkg/main.py", "from . import calc\n\ndef handler(input, context):\n    return calc.run(input)\n")
            bad = "def run(m):\n    return {'x': m['cpu_percent-0'], 'y': m['virtual_memory-cachedd']}\n"
            z.writestr("pkg/calc.py", bad)
        pyfile = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pyfile\n  namespace: {ns}\nbinaryData:\n  zipped-module: {base64.b64encode(buf.getvalue()).decode()}\n"
        env = "            - name: HANDLER_FUNCTION\n              value: pkg.main.handler\n"
        expected.pop("input-key-unknown k8s/pyfile.yaml", None)
        expected["input-key-unknown k8s/pyfile.yaml"] = 1
    files["k8s/pyfile.yaml"] = pyfile
    files["k8s/outputkey.yaml"] = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outputkey\n  namespace: {ns}\ndata:\n  REDIS_OUTPUT_KEY: {ns}-proj3-output\n"
    zipped = n % 8 == 4
    files["k8s/deployment.yaml"] = course_deployment(ns, env, mount="/opt/function" if zipped else "/opt/usermodule.py", sub=None if zipped else "pyfile")
    files["docker-compose.yml"] = "services:\n  dashboard:\n    build: ./dashboard\n    ports: ['8050:8050']\n"
    files[".github/workflows/build.yml"] = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps: [{uses: actions/checkout@v4}]\n"
    files["dashboard/requirements.txt"] = "dash\nredis\n"
    files["dashboard/app.py"] = "import dash\n"
    if n % 4 == 0:
        files["argocd/application.yaml"] = f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {ns}-proj3
  namespace: argocd
spec:
  project: {ns}-project
  source:
    repoURL: https://github.com/{ns}/cloud-proj3.git
    targetRevision: HEAD
    path: k8s
  destination:
    server: https://kubernetes.default.svc
    namespace: {ns}
  syncPolicy:
    automated: {{prune: true, selfHeal: true}}
"""
    for rel, text in files.items():
        write(os.path.join(root, rel), text)
    return root, expected


def example_apps():
    root = os.path.join(OUT, "example-apps")
    w = lambda rel, text: write(os.path.join(root, rel), text)
    w("helm-guestbook/Chart.yaml", "apiVersion: v2\nname: helm-guestbook\nversion: 0.1.0\n")
    w("helm-guestbook/values.yaml", "replicaCount: 1\nimage:\n  repository: gcr.io/heptio-images/ks-guestbook-demo\n  tag: 0.1\n")
    w("helm-guestbook/values-production.yaml", "replicaCount: 3\n")
    w("helm-guestbook/templates/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ template \"helm-guestbook.fullname\" . }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n")
    w("helm-guestbook/templates/service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n")
    guestbook = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook-ui
spec:
  replicas: 1
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app: guestbook-ui
  template:
    metadata:
      labels:
        app: guestbook-ui
    spec:
      containers:
      - image: gcr.io/heptio-images/ks-guestbook-demo:0.2
        name: guestbook-ui
        ports:
        - containerPort: 80
"""
    service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: guestbook-ui\nspec:\n  ports:\n  - port: 80\n    targetPort: 80\n  selector:\n    app: guestbook-ui\n"
    w("guestbook/guestbook-ui-deployment.yaml", guestbook)
    w("guestbook/guestbook-ui-svc.yaml", service)
    w("kustomize-guestbook/kustomization.yaml", "namePrefix: kustomize-\nresources:\n- guestbook-ui-deployment.yaml\n- guestbook-ui-svc.yaml\n")
    w("kustomize-guestbook/guestbook-ui-deployment.yaml", guestbook)
    w("kustomize-guestbook/guestbook-ui-svc.yaml", service)
    w("kustomize-guestbook/overlays/prod/kustomization.yaml", "resources:\n- ../..\npatches:\n- path: replicas.yaml\n- path: ../../../patches/probe.yaml\n")
    w("kustomize-guestbook/overlays/prod/replicas.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: guestbook-ui\nspec:\n  replicas: 3\n")
    w("patches/probe.yaml", "- op: add\n  path: /spec/template/spec/containers/0/readinessProbe\n  value: {httpGet: {path: /, port: 80}}\n")
    w("pre-post-sync/pre-sync-job.yaml", """apiVersion: batch/v1
kind: Job
metadata:
  generateName: before-
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: HookSucceeded
spec:
  template:
    spec:
      containers:
      - name: sleep
        image: alpine:3.20
        command: ["sleep", "10"]
      restartPolicy: Never
  backoffLimit: 0
""")
    w("pre-post-sync/kustomization.yaml", "resources:\n- pre-sync-job.yaml\n")
    w("sync-waves/manifests.yaml", "\n---\n".join([
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: upgrade-sql-schema\n  annotations:\n    argocd.argoproj.io/hook: PreSync\nspec:\n  template:\n    spec:\n      containers:\n      - name: upgrade\n        image: alpine:3.20\n      restartPolicy: Never\n",
        guestbook.replace("guestbook-ui", "frontend"),
        service.replace("guestbook-ui", "frontend"),
    ]))
    apps = []
    for app in ["guestbook", "helm-guestbook", "kustomize-guestbook", "sync-waves", "pre-post-sync"]:
        apps.append(f"""apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {app}
  namespace: argocd
  finalizers:
  - resources-finalizer.argocd.argoproj.io
spec:
  destination:
    namespace: {app}
    server: https://kubernetes.default.svc
  project: default
  source:
    path: {app}
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
""")
    w("apps/templates/applications.yaml", "\n---\n".join(apps))
    w("apps/Chart.yaml", "apiVersion: v2\nname: applications\nversion: 0.1.0\n")
    w("apps/values.yaml", "spec:\n  destination:\n    server: https://kubernetes.default.svc\n")
    w("appset/applicationset.yaml", """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: guestbook
  namespace: argocd
spec:
  goTemplate: true
  generators:
  - list:
      elements:
      - cluster: engineering-dev
        url: https://1.2.3.4
  template:
    metadata:
      name: '{{.cluster}}-guestbook'
    spec:
      project: default
      source:
        repoURL: https://github.com/argoproj/argocd-example-apps.git
        targetRevision: HEAD
        path: guestbook
      destination:
        server: '{{.url}}'
        namespace: guestbook
""")
    # A big demo: one file, many objects.
    docs = []
    for i in range(60):
        docs.append(guestbook.replace("guestbook-ui", f"svc-{i}"))
        docs.append(service.replace("guestbook-ui", f"svc-{i}"))
    w("sock-shop/complete-demo.yaml", "---\n".join(docs))
    w("README.md", "# example apps\n")
    w("renovate.json", json.dumps({"extends": ["config:base"]}))
    w("mkdocs.yml", "site_name: examples\n")
    return root, {}


def k8s_examples():
    root = os.path.join(OUT, "k8s-examples")
    w = lambda rel, text: write(os.path.join(root, rel), text)
    expected = {}
    w("staging/storage/mysql-wordpress/mysql-rc.yaml", """apiVersion: v1
kind: ReplicationController
metadata:
  name: mysql
  labels:
    name: mysql
spec:
  replicas: 1
  template:
    metadata:
      labels:
        name: mysql
    spec:
      containers:
        - name: mysql
          image: mysql:5.6
          env:
            - name: MYSQL_ROOT_PASSWORD
              value: yourpassword
          ports:
            - containerPort: 3306
              name: mysql
""")
    expected["secret-literal staging/storage/mysql-wordpress/mysql-rc.yaml"] = 1
    w("staging/storage/cassandra/cassandra-statefulset.yaml", """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: cassandra
spec:
  serviceName: cassandra
  replicas: 3
  selector:
    matchLabels:
      app: cassandra
  template:
    metadata:
      labels:
        app: cassandra
    spec:
      containers:
      - name: cassandra
        image: gcr.io/google-samples/cassandra:v13
        ports:
        - containerPort: 7000
          name: intra-node
        - containerPort: 9042
          name: cql
        resources:
          limits:
            cpu: "500m"
            memory: 1Gi
          requests:
            cpu: "500m"
            memory: 1Gi
        volumeMounts:
        - name: cassandra-data
          mountPath: /cassandra_data
  volumeClaimTemplates:
  - metadata:
      name: cassandra-data
      annotations:
        volume.beta.kubernetes.io/storage-class: fast
    spec:
      accessModes: [ "ReadWriteOnce" ]
      resources:
        requests:
          storage: 1Gi
""")
    expected["deprecated-annotation staging/storage/cassandra/cassandra-statefulset.yaml"] = 1
    w("staging/legacy/frontend-deployment.yaml", """apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: frontend
spec:
  replicas: 3
  template:
    metadata:
      labels:
        app: guestbook
    spec:
      containers:
      - name: php-redis
        image: gcr.io/google-samples/gb-frontend:v4
""")
    expected["api-removed staging/legacy/frontend-deployment.yaml"] = 1
    w("staging/legacy/fluentd-ds.yaml", "apiVersion: extensions/v1beta1\nkind: DaemonSet\nmetadata:\n  name: fluentd\nspec:\n  template:\n    metadata:\n      labels: {app: fluentd}\n    spec:\n      containers:\n      - name: fluentd\n        image: fluentd:v1.16\n")
    expected["api-removed staging/legacy/fluentd-ds.yaml"] = 1
    w("staging/legacy/pdb.yaml", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: zk-pdb\nspec:\n  selector:\n    matchLabels:\n      app: zk\n  maxUnavailable: 1\n")
    expected["api-removed staging/legacy/pdb.yaml"] = 1
    w("staging/legacy/hpa.yaml", "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: php-apache\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: php-apache\n  minReplicas: 1\n  maxReplicas: 10\n")
    expected["api-removed staging/legacy/hpa.yaml"] = 1
    w("staging/volumes/glusterfs/glusterfs-pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: glusterfs\nspec:\n  containers:\n  - name: glusterfs\n    image: nginx:1.27\n    volumeMounts:\n    - mountPath: /mnt/glusterfs\n      name: glusterfsvol\n  volumes:\n  - name: glusterfsvol\n    glusterfs:\n      endpoints: glusterfs-cluster\n      path: kube_vol\n      readOnly: true\n")
    expected["volume-removed staging/volumes/glusterfs/glusterfs-pod.yaml"] = 1
    w("guestbook/frontend-service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: frontend\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 8080\n  selector:\n    app: guestbook\n    tier: frontend\n")
    expected["nodeport-range guestbook/frontend-service.yaml"] = 1
    expected["service-selector guestbook/frontend-service.yaml"] = 1
    w("guestbook/redis-leader-deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: redis-leader\nspec:\n  selector:\n    matchLabels: {app: redis}\n  template:\n    metadata:\n      labels: {app: redis, role: leader}\n    spec:\n      containers:\n      - name: leader\n        image: docker.io/redis:6.0.5\n        resources:\n          requests: {cpu: 100m, memory: 100MiB}\n        ports:\n        - containerPort: 6379\n          protocol: tcp\n")
    expected["quantity guestbook/redis-leader-deployment.yaml"] = 1
    expected["enum-value guestbook/redis-leader-deployment.yaml"] = 1
    w("guestbook/docker-compose.yaml", "services:\n  redis:\n    image: redis:6\n")
    w("guestbook/README.md", "# guestbook\n")
    w(".github/workflows/lint.yaml", "on: pull_request\njobs: {}\n")
    w("codecov.yml", "coverage:\n  status: {}\n")
    return root, expected


def main():
    made = [student(n) for n in range(1, 26)] + [example_apps(), k8s_examples()]
    for root, expected in made:
        write(root + ".expected.json", json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(made)} repositories under {OUT}")


main()
