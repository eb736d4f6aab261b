// Validates every object of a Kubernetes manifest against the API's schemas (kubernetes-models,
// generated from the Kubernetes OpenAPI spec), offline. Exit 1 on the first file with an invalid
// or unknown object, naming it and what is wrong.
const fs = require("fs");
const yaml = require("js-yaml");
const kinds = {
  "apps/v1/DaemonSet": require("kubernetes-models/apps/v1/DaemonSet").DaemonSet,
  "v1/ConfigMap": require("kubernetes-models/v1/ConfigMap").ConfigMap,
  "v1/Namespace": require("kubernetes-models/v1/Namespace").Namespace,
};
let bad = 0;
for (const doc of yaml.loadAll(fs.readFileSync(process.argv[2], "utf8"))) {
  const Kind = kinds[`${doc.apiVersion}/${doc.kind}`];
  const name = `${doc.kind} ${doc.metadata && doc.metadata.name}`;
  if (!Kind) {
    console.log(`${process.argv[2]}: ${name}: no schema here for ${doc.apiVersion} ${doc.kind}`);
    bad++;
    continue;
  }
  try {
    new Kind(doc).validate();
    console.log(`valid: ${name}`);
  } catch (e) {
    console.log(`${process.argv[2]}: INVALID ${name}: ${e.message}`);
    bad++;
  }
}
process.exit(bad ? 1 : 0);
