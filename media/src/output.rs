//! What a pipeline made: its files, the tools that made them and what it learnt of the master.

use std::collections::BTreeMap;

use caravan_proto::exec::ExecOutput;

/// What a pipeline made.
#[derive(Debug, Clone)]
pub struct PipelineOutput {
    pub outputs: Vec<ExecOutput>,
    pub tools: BTreeMap<String, String>,
    pub master_info: BTreeMap<String, serde_json::Value>,
}
