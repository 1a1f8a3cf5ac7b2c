//! Test support: the event types of event-engine 0.2's own example (kept verbatim, `unwrap`s and
//! all, to prove 0.2 code compiles unchanged), and a raw REQ client with deadlines.
#![allow(dead_code)]

use std::str;
use std::time::Duration;

use event_engine::errors::EngineError;
use event_engine::events::{Event, EventType};

// ----- 0.2 example code, unchanged -----
pub struct TypeAEventType {}
impl EventType for TypeAEventType {
    fn get_name(&self) -> String {
        let s = "TypeA";
        s.to_string()
    }

    fn get_filter(&self) -> Result<Vec<u8>, EngineError> {
        // just return the bytes associated with the name.
        Ok(self.get_name().as_bytes().to_vec())
    }
}

pub struct TypeAEvent {
    pub message: String,
}

impl Event for TypeAEvent {
    fn to_bytes(&self) -> Result<Vec<u8>, EngineError> {
        let type_a = TypeAEventType {};
        // The byte array begins with the filter and then adds the message
        let result = [
            type_a.get_filter().unwrap(),
            self.message.as_bytes().to_vec(),
        ]
        .concat();
        Ok(result)
    }

    fn from_bytes(mut b: Vec<u8>) -> Result<TypeAEvent, Box<dyn std::error::Error + 'static>> {
        // remove the first 5 bytes which are the message type
        for _i in 0..5 {
            b.remove(0);
        }
        let msg = str::from_utf8(&b).unwrap();
        Ok(TypeAEvent {
            message: msg.to_string(),
        })
    }
}

pub struct TypeBEventType {}
impl EventType for TypeBEventType {
    fn get_name(&self) -> String {
        let s = "TypeB";
        s.to_string()
    }

    fn get_filter(&self) -> Result<Vec<u8>, EngineError> {
        // just return the bytes associated with the name.
        Ok(self.get_name().as_bytes().to_vec())
    }
}

pub struct TypeBEvent {
    pub count: usize,
}

impl Event for TypeBEvent {
    fn to_bytes(&self) -> Result<Vec<u8>, EngineError> {
        // this is a TypeB event
        let type_b = TypeBEventType {};
        let message = format!("{}", self.count);
        // The byte array begins with the filter and then adds the message
        let result = [type_b.get_filter().unwrap(), message.as_bytes().to_vec()].concat();
        Ok(result)
    }

    fn from_bytes(mut b: Vec<u8>) -> Result<TypeBEvent, Box<dyn std::error::Error + 'static>> {
        // remove the first 5 bytes which are the message type
        for _i in 0..5 {
            b.remove(0);
        }
        let msg = str::from_utf8(&b).unwrap();
        Ok(TypeBEvent {
            count: msg.to_string().parse().unwrap(),
        })
    }
}
// ----- end of 0.2 code -----

/// How long a test waits for any single reply before failing (never hit when things work).
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A raw REQ client speaking exact bytes, as events.py does.
pub struct ReqClient {
    pub socket: zmq::Socket,
    _ctx: zmq::Context,
}

impl ReqClient {
    pub fn connect(port: u16) -> Self {
        let ctx = zmq::Context::new();
        let socket = ctx.socket(zmq::REQ).unwrap();
        socket.set_linger(0).unwrap();
        socket.connect(&format!("tcp://127.0.0.1:{port}")).unwrap();
        ReqClient { socket, _ctx: ctx }
    }

    /// Sends `frames` and returns the reply's frames, failing the test after [`DEADLINE`].
    pub fn request(&self, frames: &[&[u8]]) -> Vec<Vec<u8>> {
        self.socket.send_multipart(frames, 0).unwrap();
        self.reply()
    }

    pub fn reply(&self) -> Vec<Vec<u8>> {
        let ready = self
            .socket
            .poll(zmq::POLLIN, DEADLINE.as_millis() as i64)
            .unwrap();
        assert!(ready > 0, "no reply within {DEADLINE:?}");
        self.socket.recv_multipart(0).unwrap()
    }

    /// One-frame request, one-frame reply.
    pub fn ask(&self, request: &[u8]) -> Vec<u8> {
        let mut reply = self.request(&[request]);
        assert_eq!(reply.len(), 1, "expected one frame, got {reply:?}");
        reply.remove(0)
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
