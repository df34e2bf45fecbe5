// Validates the KEDA resources in YAML files against KEDA's own CRD schemas, as packaged by
// @kubernetes-models/keda (generated from KEDA's CustomResourceDefinitions): every ScaledObject
// and TriggerAuthentication must pass. Prints one line per resource; exits 1 if any fails or
// none is found. Usage: node keda_validate.mjs <file.yaml>...
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ScaledObject, TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1";

const models = { ScaledObject, TriggerAuthentication };
let checked = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const resource = doc.toJS();
    if (!resource || resource.apiVersion !== "keda.sh/v1alpha1") continue;
    const Model = models[resource.kind];
    const name = `${file}: ${resource.kind}/${resource.metadata?.name}`;
    if (!Model) {
      console.log(`FAIL ${name}: no schema for this kind`);
      failed++;
      continue;
    }
    checked++;
    try {
      new Model(resource).validate();
      console.log(`ok   ${name}`);
    } catch (e) {
      console.log(`FAIL ${name}: ${e.message}`);
      failed++;
    }
  }
}
if (checked === 0) {
  console.log("FAIL no KEDA resources found");
  process.exit(1);
}
process.exit(failed > 0 ? 1 : 0);
