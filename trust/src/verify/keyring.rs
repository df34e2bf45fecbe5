//! The public keys signatures are checked against: the one given on the command line (a key
//! the verifier trusts), or else the one published in the store under the id a receipt names.

use std::collections::HashMap;

use caravan_proto::keys;
use caravan_store::Store;
use ed25519_dalek::VerifyingKey;

use crate::keys::{key_id, public_key_from_pem};

#[derive(Debug)]
pub struct Keyring {
    given: Option<VerifyingKey>,
    store: Store,
    fetched: HashMap<String, Result<VerifyingKey, String>>,
}

impl Keyring {
    pub fn new(store: Store, given: Option<VerifyingKey>) -> Self {
        Self {
            given,
            store,
            fetched: HashMap::new(),
        }
    }

    /// Ids of the keys fetched from the store.
    pub fn fetched_ids(&self) -> Vec<String> {
        let mut ids: Vec<_> = self
            .fetched
            .iter()
            .filter(|(_, k)| k.is_ok())
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// The key named `id`, or why there is none.
    pub async fn get(&mut self, id: &str) -> Result<VerifyingKey, String> {
        if let Some(given) = &self.given {
            let given_id = key_id(given);
            return if given_id == id {
                Ok(*given)
            } else {
                Err(format!(
                    "signed by key {id}, not by the key given (--key, id {given_id}): it was not made by the archive whose key you hold"
                ))
            };
        }
        if let Some(known) = self.fetched.get(id) {
            return known.clone();
        }
        let found = self.fetch(id).await;
        self.fetched.insert(id.to_owned(), found.clone());
        found
    }

    async fn fetch(&self, id: &str) -> Result<VerifyingKey, String> {
        let valid = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(format!("names the key id {id:?}, which is not a key id"));
        }
        let object = keys::public_key(id);
        let pem = match self.store.get_bytes(&object).await {
            Ok(Some(pem)) => pem,
            Ok(None) => {
                return Err(format!(
                    "signed by key {id}, but {object} is not in the store: pass the archive's public key with --key"
                ))
            }
            Err(e) => return Err(format!("cannot read {object}: {e}")),
        };
        let key = std::str::from_utf8(&pem)
            .map_err(|_| format!("{object} is not a PEM file"))
            .and_then(|pem| public_key_from_pem(pem).map_err(|e| format!("{object}: {e}")))?;
        if key_id(&key) != id {
            return Err(format!(
                "{object} holds another key (id {}): it was replaced",
                key_id(&key)
            ));
        }
        Ok(key)
    }
}
