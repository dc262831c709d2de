//! `{"action":"setup"}`: puts the index templates (and retention policy) into the cluster, as
//! `kelk setup` does; Terraform or an operator invokes it once the host may write.

use super::EventSource;
use crate::function::Invocation;
use serde_json::{Value, json};

pub struct Setup;

impl EventSource for Setup {
    fn name(&self) -> &'static str {
        "setup"
    }

    fn accepts(&self, event: &Value) -> bool {
        event["action"] == "setup"
    }

    fn routes(&self) -> bool {
        false
    }

    fn handle(&self, _: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
        let put = kelk_runtime::opensearch::setup::setup(invocation.cluster(), invocation.retention_days())?;
        Ok(json!({ "put": put }))
    }
}
