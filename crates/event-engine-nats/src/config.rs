//! What a bridge does: where NATS is, what it exports and imports, how it delivers, and what it
//! does when NATS is unreachable. Built with [`crate::NatsBridge::builder`].

use std::path::PathBuf;
use std::time::Duration;

use event_engine::events::{EventType, Filter};

use crate::BridgeError;

/// What the bridge does when its buffer of exported events is full (NATS unreachable or slower
/// than the bus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// Stop reading the bus: the bus's own rules apply and the publishers of exported events wait
    /// (default; nothing is lost).
    #[default]
    Block,
    /// Keep reading the bus and drop the events that do not fit, counting them in
    /// `export_dropped`.
    DropAndCount,
}

/// Where a new durable consumer starts in its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliverFrom {
    /// Every message the stream still holds (default): an engine that was away catches up.
    #[default]
    All,
    /// Only messages stored after the consumer was made.
    New,
}

/// How events travel: core NATS (at most once) or a JetStream stream (at least once).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Core NATS publish/subscribe (default): nothing to set up on the server; what is published
    /// while a subscriber is disconnected is lost to it (gaps are counted by an importing
    /// bridge as `import_lost`).
    #[default]
    Core,
    /// At least once through a JetStream stream: exports wait for the stream's acknowledgement
    /// (and are retried with the same `Nats-Msg-Id`, which the server de-duplicates); imports read
    /// through durable consumers and are acknowledged once they are on the bus.
    JetStream(JetStream),
}

/// The JetStream settings of a bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetStream {
    /// The stream's name.
    pub stream: String,
    /// The durable consumers' name (one consumer per import subject: `<durable>_<subject>`). It
    /// must be unique to this engine: engines that share a durable share its messages (each
    /// gets some). Needed when the bridge imports.
    pub durable: Option<String>,
    /// Create the stream when it does not exist (default true).
    pub create: bool,
    /// The subjects of a stream the bridge creates (default: `<subject_prefix>.>`, or every
    /// export and import subject when there is no prefix).
    pub subjects: Vec<String>,
    /// Replicas of a stream the bridge creates (default 1; 3 on a three-node cluster).
    pub replicas: usize,
    /// Where a new durable consumer starts.
    pub deliver: DeliverFrom,
    /// How long the server waits for an acknowledgement before it sends a message again.
    pub ack_wait: Duration,
    /// The JetStream domain of the stream, when it is another server's (e.g. `edge`: a stream
    /// on an edge's leaf node, read from the cloud across the leaf connection).
    pub domain: Option<String>,
}

impl JetStream {
    /// Stream `stream`, created when missing with one replica; no durable yet.
    pub fn new(stream: impl Into<String>) -> Self {
        JetStream {
            stream: stream.into(),
            durable: None,
            create: true,
            subjects: Vec::new(),
            replicas: 1,
            deliver: DeliverFrom::All,
            ack_wait: Duration::from_secs(30),
            domain: None,
        }
    }
}

/// Credentials passed to the NATS client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// None (default).
    #[default]
    None,
    /// A token.
    Token(String),
    /// A user name and password.
    UserPassword(String, String),
    /// An NKey seed (`SU...`).
    NKey(String),
    /// A `.creds` file (JWT and NKey seed), as `nsc` writes them.
    CredentialsFile(PathBuf),
}

/// TLS settings passed to the NATS client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tls {
    /// Refuse a server that does not offer TLS.
    pub required: bool,
    /// PEM files of the certificate authorities to trust (besides the system's).
    pub ca_files: Vec<PathBuf>,
    /// PEM files of this client's certificate and key, for servers that verify clients.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// One exported filter: events that start with it go to `subject`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The filter (its name makes the default subject).
    pub filter: Filter,
    /// The subject, when not `<subject_prefix>.<filter name>`.
    pub subject: Option<String>,
}

/// One imported subject: its messages are published on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The subject, wildcards allowed (`traps.*.Command`, `sensors.>`).
    pub subject: String,
    /// Bytes put in front of every message's payload: the filter of messages that lack one
    /// (e.g. published by an MQTT device). Empty for messages exported by another engine,
    /// which carry their filter.
    pub prefix: Vec<u8>,
}

/// Everything a bridge needs; see [`crate::NatsBridge::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeConfig {
    /// The plugin's name.
    pub name: String,
    /// NATS server URLs (`nats://host:4222`, `tls://host:4222`); several for a cluster.
    pub servers: Vec<String>,
    /// Prefix of export subjects (`traps.site1` gives `traps.site1.<filter name>`).
    pub subject_prefix: String,
    /// Filters to export.
    pub exports: Vec<Export>,
    /// Subjects to import.
    pub imports: Vec<Import>,
    /// Core NATS or JetStream.
    pub delivery: Delivery,
    /// Most exported events held (taken from the bus and not yet confirmed by NATS).
    pub buffer: usize,
    /// What happens when the buffer is full.
    pub when_full: WhenFull,
    /// Credentials.
    pub auth: Auth,
    /// TLS.
    pub tls: Tls,
    /// Identifies this bridge's messages on NATS (the origin in their `Ee-Id` header) so that
    /// it never imports its own. Default: the durable name when there is one (stable across
    /// restarts), else a random id per run.
    pub origin: Option<String>,
    /// How long a stopping bridge keeps trying to publish what it holds.
    pub drain_timeout: Duration,
    /// Timeout of one connection attempt and of one JetStream acknowledgement.
    pub request_timeout: Duration,
}

impl BridgeConfig {
    /// A bridge called `name` with the defaults: `nats://127.0.0.1:4222`, core NATS, a buffer
    /// of 10 000 events, lossless.
    pub fn new(name: impl Into<String>) -> Self {
        BridgeConfig {
            name: name.into(),
            servers: Vec::new(),
            subject_prefix: String::new(),
            exports: Vec::new(),
            imports: Vec::new(),
            delivery: Delivery::Core,
            buffer: 10_000,
            when_full: WhenFull::Block,
            auth: Auth::None,
            tls: Tls::default(),
            origin: None,
            drain_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
        }
    }

    /// The servers, or the default local one.
    pub(crate) fn server_list(&self) -> Vec<String> {
        if self.servers.is_empty() {
            vec!["nats://127.0.0.1:4222".to_string()]
        } else {
            self.servers.clone()
        }
    }

    /// The subject of export `e`.
    pub fn export_subject(&self, e: &Export) -> String {
        match &e.subject {
            Some(s) => s.clone(),
            None if self.subject_prefix.is_empty() => e.filter.get_name(),
            None => format!("{}.{}", self.subject_prefix, e.filter.get_name()),
        }
    }

    /// The subjects of a stream the bridge creates.
    pub(crate) fn stream_subjects(&self, js: &JetStream) -> Vec<String> {
        if !js.subjects.is_empty() {
            return js.subjects.clone();
        }
        if !self.subject_prefix.is_empty() {
            return vec![format!("{}.>", self.subject_prefix)];
        }
        let mut subjects: Vec<String> = self
            .exports
            .iter()
            .map(|e| self.export_subject(e))
            .collect();
        subjects.extend(self.imports.iter().map(|i| i.subject.clone()));
        subjects
    }

    /// Checks every value; the error names the setting.
    pub fn validate(&self) -> Result<(), BridgeError> {
        let bad = |msg: String| {
            Err(BridgeError::Config(format!(
                "bridge '{}': {msg}",
                self.name
            )))
        };
        if self.name.trim().is_empty() {
            return Err(BridgeError::Config("a bridge needs a name".into()));
        }
        if self.exports.is_empty() && self.imports.is_empty() {
            return bad("nothing to do: no exports and no imports".into());
        }
        if self.buffer == 0 {
            return bad("buffer must be at least 1".into());
        }
        for s in &self.servers {
            if s.trim().is_empty() || s.contains(char::is_whitespace) {
                return bad(format!("server '{s}' is not a URL"));
            }
        }
        if !self.subject_prefix.is_empty() {
            check_subject(&self.subject_prefix, false)
                .or_else(|e| bad(format!("subject_prefix: {e}")))?;
        }
        let mut subjects = std::collections::HashMap::new();
        for e in &self.exports {
            let filter = e.filter.get_filter().unwrap_or_default();
            if filter.is_empty() {
                return bad(format!(
                    "export '{}': an empty filter would export every event",
                    e.filter.get_name()
                ));
            }
            let subject = self.export_subject(e);
            check_subject(&subject, false)
                .or_else(|err| bad(format!("export '{}': {err}", e.filter.get_name())))?;
            if let Some(other) = subjects.insert(subject.clone(), e.filter.get_name()) {
                return bad(format!(
                    "exports '{other}' and '{}' both go to subject '{subject}'",
                    e.filter.get_name()
                ));
            }
        }
        for i in &self.imports {
            check_subject(&i.subject, true).or_else(|e| bad(format!("import: {e}")))?;
        }
        if let Delivery::JetStream(js) = &self.delivery {
            if js.stream.is_empty() || js.stream.contains(['.', '*', '>', ' ', '\t']) {
                return bad(format!(
                    "stream '{}' is not a stream name (no '.', '*', '>' or spaces)",
                    js.stream
                ));
            }
            match &js.durable {
                None if !self.imports.is_empty() => {
                    return bad(
                        "imports from a JetStream stream need a durable name, unique to this \
                         engine (engines that share a durable share its messages)"
                            .into(),
                    )
                }
                Some(d) if d.is_empty() || d.contains(['.', '*', '>', ' ', '\t']) => {
                    return bad(format!(
                        "durable '{d}' is not a consumer name (no '.', '*', '>' or spaces)"
                    ))
                }
                _ => {}
            }
            if let Some(d) = &js.domain {
                if d.is_empty() || d.contains(['.', '*', '>', ' ', '\t']) {
                    return bad(format!("domain '{d}' is not a JetStream domain name"));
                }
            }
            if js.replicas == 0 || js.replicas > 5 {
                return bad(format!("replicas must be 1 to 5 (got {})", js.replicas));
            }
            for s in &js.subjects {
                check_subject(s, true).or_else(|e| bad(format!("stream subjects: {e}")))?;
            }
            if js.create && self.stream_subjects(js).is_empty() {
                return bad("a stream to create needs subjects".into());
            }
        }
        if let Some(o) = &self.origin {
            // Header values lose their leading and trailing spaces on the way.
            if o.trim().is_empty() || o.contains(['\r', '\n']) || o.trim() != o {
                return bad(
                    "origin must be a non-empty single line without leading or trailing spaces"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

/// Checks a NATS subject: dot-separated non-empty tokens without spaces; `*` and `>` (last)
/// only where `wildcards`.
pub(crate) fn check_subject(s: &str, wildcards: bool) -> Result<(), String> {
    if s.is_empty() {
        return Err("an empty subject".into());
    }
    let tokens: Vec<&str> = s.split('.').collect();
    for (i, t) in tokens.iter().enumerate() {
        if t.is_empty() {
            return Err(format!("subject '{s}' has an empty token"));
        }
        if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("subject '{s}' has a space or control character"));
        }
        let wild = *t == "*" || (*t == ">" && i == tokens.len() - 1);
        if wild && !wildcards {
            return Err(format!("subject '{s}' has a wildcard"));
        }
        if !wild && (t.contains('*') || t.contains('>')) {
            return Err(format!(
                "subject '{s}': '*' and '>' must be whole tokens ('>' only last)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        assert!(check_subject("traps.site1.Detection", false).is_ok());
        assert!(check_subject("traps.*.x", false).is_err());
        assert!(check_subject("traps.*.x", true).is_ok());
        assert!(check_subject("traps.>", true).is_ok());
        assert!(check_subject("traps.>.x", true).is_err());
        assert!(check_subject("traps..x", true).is_err());
        assert!(check_subject("tr aps", true).is_err());
        assert!(check_subject("a*b", true).is_err());
    }

    #[test]
    fn export_subjects_and_errors() {
        let mut c = BridgeConfig::new("b");
        c.subject_prefix = "traps.site1".into();
        c.exports.push(Export {
            filter: Filter::new("Detection"),
            subject: None,
        });
        assert_eq!(c.export_subject(&c.exports[0]), "traps.site1.Detection");
        assert!(c.validate().is_ok());
        c.exports.push(Export {
            filter: Filter::new("Other"),
            subject: Some("traps.site1.Detection".into()),
        });
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("both go to subject"), "{e}");
        c.exports.pop();
        c.imports.push(Import {
            subject: "cmd.>".into(),
            prefix: b"Command".to_vec(),
        });
        c.delivery = Delivery::JetStream(JetStream::new("TRAPS"));
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("need a durable name"), "{e}");
        if let Delivery::JetStream(js) = &mut c.delivery {
            js.durable = Some("site1".into());
        }
        assert!(c.validate().is_ok());
        assert_eq!(
            c.stream_subjects(match &c.delivery {
                Delivery::JetStream(js) => js,
                _ => unreachable!(),
            }),
            vec!["traps.site1.>".to_string()]
        );
    }
}
