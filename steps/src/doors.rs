//! The doors to a record besides tools (HG-DOOR-01/02): a resource template, a resource listed
//! by its own URI, a prompt, and completion of a record id (of the prompt's argument or the
//! template's variable). A server is asked what it offers (`resources/templates/list`,
//! `resources/list`, `prompts/list`) and the door is the one whose parameters carry Salesforce's
//! tool argument names: `recordId`, with `objectName` where the door asks for one; a listed
//! resource is the door to a record when its URI names the record's id. A server without such a
//! door leaves the row not verifiable, never passed.
//!
//! What a denial is about is shown first: the admin reads the record through the same door and
//! the answer carries values the admin's REST read of the record has (or, for completions, its
//! id). The restricted persona's answer must then be refused or carry none of those values.
//! A refusal is any JSON-RPC error: the resource-not-found code moved from -32002 (MCP
//! 2025-11-25) to -32602 (SEP-2164, 2026-07-28), SDKs also send 0 and -32603, and the control's
//! criterion is "refused or no data", which the absence of the values decides.

use crate::world::{GateWorld, StepError, expect, rpc};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, cucumber::Parameter)]
#[param(name = "door", regex = "listed-resource|resource-completion|resource|prompt|completion")]
pub enum Door {
    Resource,
    /// A resource `resources/list` gives by its own URI.
    ListedResource,
    Prompt,
    Completion,
    /// Completion of the resource template's `recordId` (`ref/resource`).
    ResourceCompletion,
}

impl std::str::FromStr for Door {
    type Err = String;

    fn from_str(s: &str) -> Result<Door, String> {
        Ok(match s {
            "resource" => Door::Resource,
            "listed-resource" => Door::ListedResource,
            "prompt" => Door::Prompt,
            "completion" => Door::Completion,
            "resource-completion" => Door::ResourceCompletion,
            other => return Err(format!("unknown door {other}")),
        })
    }
}

pub const RECORD_ID: &str = "recordId";
pub const OBJECT_NAME: &str = "objectName";
/// Values shorter than this are too common ("New", "High") to tell one record's data apart.
const DISTINCT_LEN: usize = 6;

/// What the admin's read through a door showed: the values a leak of the record would carry.
#[derive(Debug, Clone)]
pub struct DoorProof {
    /// What the decision is about: the record, or one field of it.
    pub about: String,
    pub values: Vec<String>,
    /// The door the admin went through: the restricted persona is sent through the same one,
    /// whether or not its own listings show it.
    pub door: Door,
    pub found: Found,
}

/// A door as one server offers it.
#[derive(Debug, Clone)]
pub enum Found {
    /// A URI template with `{recordId}` (and maybe `{objectName}`).
    Template(String),
    /// A listed resource's own URI.
    Direct(String),
    /// A prompt, or a completion reference to it, with a `recordId` argument.
    Prompt { name: String, object_argument: bool },
}

/// RFC 6570 level-1 expansion of the record template's two variables.
fn expand(template: &str, object: &str, id: &str) -> String {
    template.replace("{objectName}", object).replace("{recordId}", id)
}

/// Every leaf string in a JSON value (`attributes` aside), or the text itself when it is no JSON.
fn leaf_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(inner @ (Value::Object(_) | Value::Array(_))) => leaf_strings(&inner, out),
            _ => out.push(s.clone()),
        },
        Value::Array(a) => a.iter().for_each(|x| leaf_strings(x, out)),
        Value::Object(o) => o.iter().filter(|(k, _)| *k != "attributes").for_each(|(_, x)| leaf_strings(x, out)),
        _ => {}
    }
}

/// A value that tells this record's data apart: long enough to be no common word, and neither
/// an id (a refusal may echo the id it was asked for, in 15 or 18 characters, and owner and
/// parent ids are shared) nor a timestamp (records seeded together share them).
fn distinct(v: &str) -> bool {
    let id_like = matches!(v.len(), 15 | 18) && v.chars().all(|c| c.is_ascii_alphanumeric());
    let timestamp = v.len() >= 19 && v.as_bytes()[4] == b'-' && v.as_bytes()[10] == b'T';
    v.chars().count() >= DISTINCT_LEN && !id_like && !timestamp
}

/// The field's value in the admin's read, where it tells the record apart: distinct, and held by
/// no other field (a readable field with the same value would be no leak).
fn field_value(rest: &Value, object: &str, field: &str, alias: &str) -> Result<String, StepError> {
    let as_text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    let value = as_text(&rest[field]);
    let shared = rest.as_object().is_some_and(|o| o.iter().any(|(k, v)| k != field && as_text(v) == value));
    if !distinct(&value) || shared {
        return Err(StepError::NotVerifiable(format!(
            "the admin's value in {object}.{field} of '{alias}' is too short or common, or another field holds it, to tell a leak apart"
        )));
    }
    Ok(value)
}

/// The text a door's answer carries: resource contents, prompt messages, completion values.
pub(crate) fn carried(result: &Value) -> String {
    let mut texts = Vec::new();
    leaf_strings(result, &mut texts);
    texts.join("\n")
}

impl GateWorld {
    /// The door of this kind the server offers the persona, found by its parameter names (a
    /// listed resource by the record's id in its URI).
    async fn find_door(
        &mut self,
        persona: &str,
        server: &str,
        door: Door,
        record_id: &str,
    ) -> Result<Found, StepError> {
        let (method, key) = match door {
            Door::Resource | Door::ResourceCompletion => ("resources/templates/list", "resourceTemplates"),
            Door::ListedResource => ("resources/list", "resources"),
            Door::Prompt | Door::Completion => ("prompts/list", "prompts"),
        };
        let short = record_id.get(..15).unwrap_or(record_id);
        let listed = match self.list_all(persona, server, method, key).await {
            Err(StepError::Expectation { observed, .. }) => {
                return Err(StepError::NotVerifiable(format!(
                    "the {server} MCP server answers {method} with {observed} and no list: it offers no {} door",
                    door.name()
                )));
            }
            other => other?,
        };
        let found = listed.iter().find_map(|d| match door {
            Door::Resource | Door::ResourceCompletion => {
                d["uriTemplate"].as_str().filter(|t| t.contains("{recordId}")).map(|t| Found::Template(t.to_string()))
            }
            Door::ListedResource => {
                d["uri"].as_str().filter(|u| u.contains(short)).map(|u| Found::Direct(u.to_string()))
            }
            Door::Prompt | Door::Completion => {
                let args: Vec<&str> = d["arguments"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x["name"].as_str()).collect())
                    .unwrap_or_default();
                args.contains(&RECORD_ID).then(|| Found::Prompt {
                    name: d["name"].as_str().unwrap_or_default().to_string(),
                    object_argument: args.contains(&OBJECT_NAME),
                })
            }
        });
        found.ok_or_else(|| {
            StepError::NotVerifiable(format!(
                "the {server} MCP server lists no {}",
                match door {
                    Door::Resource | Door::ResourceCompletion => "resource template with a `recordId` parameter",
                    Door::ListedResource => "resource whose URI names the record",
                    _ => "prompt with a `recordId` parameter",
                }
            ))
        })
    }

    /// The persona's request for the record through the door; the answer becomes `last`.
    pub async fn through_door(
        &mut self,
        persona: &str,
        door: Door,
        server: &str,
        alias: &str,
    ) -> Result<Found, StepError> {
        let record = self.record(alias)?;
        // The door is the admin's, where the admin went through one first.
        let found = match self.door_proof.as_ref().filter(|p| p.door == door) {
            Some(p) => p.found.clone(),
            None => self.find_door(persona, server, door, &record.id).await?,
        };
        let (method, params) = match (door, found.clone()) {
            (Door::Resource, Found::Template(t)) => {
                ("resources/read", json!({"uri": expand(&t, &record.object, &record.id)}))
            }
            (_, Found::Direct(uri)) => ("resources/read", json!({"uri": uri})),
            (Door::ResourceCompletion, Found::Template(t)) => {
                let prefix: String = record.id.chars().take(3).collect();
                let reference = json!({"type": "ref/resource", "uri": t});
                let context = json!({"arguments": {OBJECT_NAME: record.object}});
                let argument = json!({"name": RECORD_ID, "value": prefix});
                ("completion/complete", json!({"ref": reference, "argument": argument, "context": context}))
            }
            (Door::Prompt, Found::Prompt { name, object_argument }) => {
                let mut args = json!({RECORD_ID: record.id});
                if object_argument {
                    args[OBJECT_NAME] = json!(record.object);
                }
                ("prompts/get", json!({"name": name, "arguments": args}))
            }
            (_, Found::Prompt { name, .. }) => {
                // The record's key prefix (its first three characters) is what a user would type.
                let prefix: String = record.id.chars().take(3).collect();
                let reference = json!({"type": "ref/prompt", "name": name});
                let context = json!({"arguments": {OBJECT_NAME: record.object}});
                let argument = json!({"name": RECORD_ID, "value": prefix});
                ("completion/complete", json!({"ref": reference, "argument": argument, "context": context}))
            }
            (_, Found::Template(_)) => {
                unreachable!("find_door answers a template for the resource doors only")
            }
        };
        self.mcp_request(persona, server, method, params).await?;
        Ok(found)
    }

    /// The admin's read through the door shows the record and which values a leak would carry:
    /// for completions its id; otherwise the distinct values of its REST read (or of one field)
    /// that the door's answer carries.
    pub async fn prove_through_door(
        &mut self,
        door: Door,
        server: &str,
        object: &str,
        alias: &str,
        field: Option<&str>,
    ) -> Result<(), StepError> {
        self.prove_exists(object, alias, field).await?;
        let rest = self.last()?.json().unwrap_or(Value::Null);
        let id = self.record(alias)?.id;
        self.door_proof = None;
        let found = self.through_door("admin", door, server, alias).await?;
        let answer = carried(&rpc(self.last()?)["result"]);
        let candidates = match (door, field) {
            (Door::Completion | Door::ResourceCompletion, _) => vec![id.clone()],
            (_, Some(f)) => vec![field_value(&rest, object, f, alias)?],
            (_, None) => {
                let mut all = Vec::new();
                leaf_strings(&rest, &mut all);
                all.retain(|v| distinct(v));
                all
            }
        };
        let values: Vec<String> = candidates.into_iter().filter(|v| answer.contains(v.as_str())).collect();
        if values.is_empty() {
            return Err(StepError::NotVerifiable(format!(
                "the admin's {} on the {server} MCP server carries none of the record '{alias}''s values, so a refusal there would prove nothing",
                door.name()
            )));
        }
        self.probe.evidence.push(format!(
            "proof: the admin's {} carries {} value(s) of the record '{alias}'",
            door.name(),
            values.len()
        ));
        let about = match field {
            Some(f) => format!("field {f} of @{alias}"),
            None => format!("record @{alias}"),
        };
        self.door_proof = Some(DoorProof { about, values, door, found });
        Ok(())
    }

    /// The admin's proof, and the last answer's status and JSON-RPC message.
    fn proof_and_answer(&self) -> Result<(DoorProof, u16, Value), StepError> {
        let proof = self.door_proof.clone().ok_or_else(|| {
            StepError::NotVerifiable("no read through the door by the admin showed the record first".into())
        })?;
        let r = self.last()?;
        Ok((proof, r.status, rpc(r)))
    }

    /// The last answer through a door: refused (a JSON-RPC error, a 401/403) or carrying none
    /// of the proven values; never a canary.
    pub fn door_kept_shut(&mut self, door: Door) -> Result<(), StepError> {
        let (proof, status, v) = self.proof_and_answer()?;
        let marker = self.target.canary_marker.clone();
        let no_canary =
            || expect(!v.to_string().contains(&marker), "no seeded sensitive value", || "a canary value".into());
        if let Some(e) = v.get("error").filter(|_| matches!(status, 200 | 400 | 404)) {
            self.decide(Some(false), None);
            let code = e["code"].to_string();
            self.probe.evidence.push(format!("{} refused with JSON-RPC error {code}", door.name()));
            let leaked = proof.values.iter().any(|x| e.to_string().contains(x.as_str()));
            expect(!leaked, "a refusal that names none of the record's values", || {
                format!("error {code} carries a value of the {}", proof.about)
            })?;
            return no_canary();
        }
        if matches!(status, 401 | 403) {
            self.decide(Some(false), None);
            return no_canary();
        }
        let result = v.get("result").filter(|_| status == 200).ok_or_else(|| StepError::Expectation {
            expected: format!("a {} answer or a refusal", door.name()),
            observed: format!(
                "{status} {}",
                self.probe.secrets.redact(&v.to_string()).chars().take(160).collect::<String>()
            ),
        })?;
        let text = carried(result);
        let leaked = proof.values.iter().filter(|x| text.contains(x.as_str())).count();
        self.decide(Some(leaked > 0), Some(&format!("{} through the {}", proof.about, door.name())));
        expect(leaked == 0, format!("a refusal, or no value of the {}", proof.about), || {
            format!("{} answered with {leaked} of its {} proven value(s)", door.name(), proof.values.len())
        })?;
        no_canary()
    }

    /// The twin: the last answer through the door carries the record the admin's read showed.
    pub fn door_opened(&mut self, door: Door) -> Result<(), StepError> {
        let (proof, status, v) = self.proof_and_answer()?;
        let text = v.get("result").filter(|_| status == 200).map(carried).unwrap_or_default();
        let shown = proof.values.iter().any(|x| text.contains(x.as_str()));
        self.decide(Some(shown), Some(&format!("{} through the {}", proof.about, door.name())));
        expect(shown, format!("the {} carries the {}", door.name(), proof.about), || {
            format!("{status} {}", self.probe.secrets.redact(&v.to_string()).chars().take(160).collect::<String>())
        })
    }
}

impl Door {
    pub fn name(self) -> &'static str {
        match self {
            Door::Resource => "resource read",
            Door::ListedResource => "listed resource read",
            Door::Prompt => "prompt",
            Door::Completion => "completion",
            Door::ResourceCompletion => "template completion",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_door_answer_is_read_down_to_its_leaf_strings_even_inside_embedded_json() {
        let answer = json!({"contents": [{"uri": "x", "text": "{\"Subject\": \"Secret merger\", \"attributes\": {\"url\": \"/u\"}}"}]});
        let text = carried(&answer);
        assert!(text.contains("Secret merger"));
        assert!(!text.contains("/u"), "attributes are not record data");
    }

    #[test]
    fn ids_timestamps_and_short_words_are_no_record_data() {
        assert!(distinct("Printer on fire"));
        assert!(distinct("CANARY-NOTES-e5a0 refund approved off-book"));
        assert!(!distinct("500000000000001AAA"));
        assert!(!distinct("500000000000001"));
        assert!(!distinct("2026-12-01T06:09:28.492+0000"));
        assert!(!distinct("High"));
    }

    #[test]
    fn the_record_template_is_expanded_by_its_two_variables() {
        assert_eq!(
            expand("salesforce://sobject/{objectName}/{recordId}", "Case", "500x"),
            "salesforce://sobject/Case/500x"
        );
    }
}
