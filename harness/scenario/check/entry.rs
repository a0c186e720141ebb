//! Entries whose keys are split between a struct every kind has and each
//! kind's own (workloads, faults).
//!
//! Such an entry is read key by key in file order, each key with the type
//! of the struct that has it (the common one, or the first kind's that
//! does), so that the first key that cannot be read is the one reported,
//! as one serde struct of every key would. A key no struct has is refused
//! with serde's own message, listing every key an entry may have.

use serde::de::DeserializeOwned;
use serde_yaml::Mapping;

use crate::scenario::raw::fields_of;
use crate::scenario::yaml::{self, DeError, Node};

/// A kind's own keys, and how to read them.
pub(super) struct KeyOwner {
    pub fields: fn() -> &'static [&'static str],
    /// Reads a mapping of its own keys as its raw struct, for serde's error.
    pub parse: fn(&Node) -> Result<(), DeError>,
}

/// An entry as written: the keys every kind has (`C`), and every key given.
pub(super) struct Written<C> {
    pub common: C,
    /// The keys given, in file order.
    pub keys: Vec<String>,
    map: Mapping,
}

impl<C: DeserializeOwned> Written<C> {
    /// Reads `node`; `all_keys` lists every key an entry may have, in the
    /// order messages give them.
    pub fn read(
        node: &Node,
        owners: impl Iterator<Item = KeyOwner> + Clone,
        all_keys: impl Fn() -> Vec<&'static str>,
    ) -> Result<Self, DeError> {
        let Some(map) = node.as_mapping() else {
            return Ok(Written {
                common: yaml::from_node(node)?,
                keys: Vec::new(),
                map: Mapping::new(),
            });
        };
        let common_fields = fields_of::<C>();
        let mut common = Mapping::new();
        let mut keys = Vec::new();
        for (k, v) in map {
            let one = Node::Mapping(Mapping::from_iter([(k.clone(), v.clone())]));
            let Some(key) = k.as_str() else {
                // Not a name: serde's own word for it.
                yaml::from_node::<C>(&one)?;
                continue;
            };
            if common_fields.contains(&key) {
                yaml::from_node::<C>(&one)?;
                common.insert(k.clone(), v.clone());
            } else {
                let owner = owners.clone().find(|o| (o.fields)().contains(&key));
                match owner {
                    Some(o) => (o.parse)(&one)?,
                    None => return Err(unknown_field(key, &all_keys())),
                }
            }
            keys.push(key.to_string());
        }
        Ok(Written {
            common: yaml::from_node(&Node::Mapping(common))?,
            keys,
            map: map.clone(),
        })
    }
}

impl<C> Written<C> {
    /// The keys given among `fields` (a kind's own), as a mapping.
    pub fn own(&self, fields: &[&str]) -> Node {
        Node::Mapping(
            self.map
                .iter()
                .filter(|(k, _)| k.as_str().is_some_and(|k| fields.contains(&k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }
}

/// serde's message for a key no struct has, at the key.
fn unknown_field(key: &str, expected: &[&str]) -> DeError {
    let listed: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
    DeError {
        path: key.to_string(),
        message: format!(
            "unknown field `{key}`, expected one of {}",
            listed.join(", ")
        ),
    }
}

/// `keys` in the order of `order` (a key not in it last).
pub(super) fn in_key_order(mut keys: Vec<&'static str>, order: &[&str]) -> Vec<&'static str> {
    keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
    keys
}

/// `common`'s keys, then each kind's not listed yet, in order.
pub(super) fn merged_keys(
    common: &[&'static str],
    kinds: impl Iterator<Item = &'static [&'static str]>,
) -> Vec<&'static str> {
    let mut keys = common.to_vec();
    for fields in kinds {
        for k in fields {
            if !keys.contains(k) {
                keys.push(k);
            }
        }
    }
    keys
}
