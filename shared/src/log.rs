//! Structured logs: one JSON object per line, tagged with level, event and request id. Hosts
//! decide where lines go (standard error natively and in Spin, `console.log` in Workers).

use std::rc::Rc;

use serde_json::{Map, Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Writes log lines for one request through a sink the host chose.
#[derive(Clone)]
pub struct Logger {
    sink: Rc<dyn Fn(&str)>,
    request_id: Rc<str>,
}

impl Logger {
    pub fn new(sink: Rc<dyn Fn(&str)>, request_id: &str) -> Self {
        Self { sink, request_id: request_id.into() }
    }

    /// Lines to standard error (a no-op on wasm32-unknown-unknown, which has none).
    pub fn stderr(request_id: &str) -> Self {
        Self::new(Rc::new(|line| eprintln!("{line}")), request_id)
    }

    pub fn info(&self, event: &str, fields: Value) {
        self.write(Level::Info, event, fields);
    }

    pub fn warn(&self, event: &str, fields: Value) {
        self.write(Level::Warn, event, fields);
    }

    pub fn error(&self, event: &str, fields: Value) {
        self.write(Level::Error, event, fields);
    }

    /// One line: `{"level","event","request_id", ...fields}`; a non-object `fields` lands under
    /// `"detail"`.
    pub fn write(&self, level: Level, event: &str, fields: Value) {
        (self.sink)(&line(level, event, &self.request_id, fields));
    }
}

fn line(level: Level, event: &str, request_id: &str, fields: Value) -> String {
    let mut object = Map::new();
    object.insert("level".into(), json!(level.as_str()));
    object.insert("event".into(), json!(event));
    object.insert("request_id".into(), json!(request_id));
    match fields {
        Value::Object(fields) => {
            for (key, value) in fields {
                object.entry(key).or_insert(value);
            }
        }
        Value::Null => {}
        other => {
            object.insert("detail".into(), other);
        }
    }
    Value::Object(object).to_string()
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn captured(write: impl FnOnce(&Logger)) -> Vec<Value> {
        let lines = Rc::new(RefCell::new(Vec::<String>::new()));
        let sink = lines.clone();
        let logger = Logger::new(Rc::new(move |l: &str| sink.borrow_mut().push(l.into())), "r-7");
        write(&logger);
        let lines = lines.borrow();
        lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn each_call_writes_one_json_line_with_level_event_and_request_id() {
        let lines = captured(|log| {
            log.info("function", json!({"name": "health", "status": 200}));
            log.warn("slow", Value::Null);
            log.error("upstream", json!("refused"));
        });
        assert_eq!(
            lines,
            [
                json!({"level":"info","event":"function","request_id":"r-7","name":"health","status":200}),
                json!({"level":"warn","event":"slow","request_id":"r-7"}),
                json!({"level":"error","event":"upstream","request_id":"r-7","detail":"refused"}),
            ]
        );
    }

    #[test]
    fn fields_cannot_overwrite_the_tags() {
        let lines = captured(|log| log.info("e", json!({"request_id": "forged", "level": "x"})));
        assert_eq!(lines[0]["request_id"], "r-7");
        assert_eq!(lines[0]["level"], "info");
    }

    #[test]
    fn writing_to_stderr_does_not_fail() {
        Logger::stderr("r").info("test", json!({}));
    }
}
