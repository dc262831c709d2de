//! `{"action":"setup"}`: puts the index templates of the routing config's plugins (and the
//! retention policy) into the cluster, as `kelk setup` does; Terraform or an operator invokes
//! it once the host may write. (Loading the config installs the templates already; this says
//! what is there.)

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
        true
    }

    fn handle(&self, _: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
        let router = invocation.router().ok_or_else(|| anyhow::anyhow!("no routing config is loaded"))?;
        let done = kelk_runtime::opensearch::setup::setup(
            invocation.cluster(),
            &router.destinations(),
            invocation.retention_days(),
        )?;
        Ok(json!({ "done": done }))
    }
}
