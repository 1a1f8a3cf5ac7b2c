//! Events provide the mechanism by which plugins communicate with each other. Events correspond to
//! statically typed messages defined by the application.
//!
//! An event on the wire is a byte string whose first bytes are its type's *filter*; plugins
//! subscribe to the filters they want. [`EventType`] and [`Event`] are the 0.2 traits, unchanged;
//! [`Filter`] is a ready-made [`EventType`] for filters known up front.
//!
//! ```
//! use event_engine::events::{Event, EventType, Filter};
//! use event_engine::errors::EngineError;
//!
//! struct Greeting(String);
//! impl Event for Greeting {
//!     fn to_bytes(&self) -> Result<Vec<u8>, EngineError> {
//!         Ok([Filter::new("Greet").get_filter()?, self.0.as_bytes().to_vec()].concat())
//!     }
//!     fn from_bytes(b: Vec<u8>) -> Result<Self, Box<dyn std::error::Error>> {
//!         Ok(Greeting(String::from_utf8(b[5..].to_vec())?))
//!     }
//! }
//! let bytes = Greeting("hi".into()).to_bytes().unwrap();
//! assert_eq!(bytes, b"Greethi");
//! assert_eq!(Greeting::from_bytes(bytes).unwrap().0, "hi");
//! ```
use crate::errors::EngineError;
use std::error::Error;
use zmq::Socket;

/// An event type in the application. Event types have a name, which be used to
/// specify subscriptions by components (plugins) in applications.
/// They also have a filter, which is a byte array that appears at the beginning
/// of every message of the type. The filter must uniquely determine messages to b
/// of said type.
pub trait EventType {
    /// return the name of the event type
    fn get_name(&self) -> String;

    /// compute the byte array filter for all messages of this event type.
    /// The filter must uniquely determine this event type.
    fn get_filter(&self) -> Result<Vec<u8>, EngineError>;
}

/// Public API for defining events in an application.
/// Events are typed messages that can be sent over a ZMQ socket.
pub trait Event {
    /// convert the event to a raw byte array
    fn to_bytes(&self) -> Result<Vec<u8>, EngineError>;

    /// build the event from the raw bytes received from the engine
    fn from_bytes(bytes: Vec<u8>) -> Result<Self, Box<dyn Error>>
    where
        Self: Sized;

    /// send an event message to all subscribers
    fn send(&self, pub_socket: &mut Socket) -> Result<(), EngineError> {
        let data = self.to_bytes()?;
        pub_socket.send(data, 0)?;
        Ok(())
    }
}

/// An [`EventType`] given by its name and filter bytes.
///
/// ```
/// use event_engine::events::{EventType, Filter};
/// let text = Filter::new("TypeA");
/// assert_eq!(text.get_filter().unwrap(), b"TypeA");
/// let binary = Filter::bytes("sensor", [0x01, 0x00]);
/// assert_eq!(binary.get_filter().unwrap(), [0x01, 0x00]);
/// assert_eq!(binary.get_name(), "sensor");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    name: String,
    bytes: Vec<u8>,
}

impl Filter {
    /// A type whose name is also its filter (the 0.2 convention).
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let bytes = name.as_bytes().to_vec();
        Filter { name, bytes }
    }

    /// A type with a name and arbitrary filter bytes.
    pub fn bytes(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Filter {
            name: name.into(),
            bytes: bytes.into(),
        }
    }

    /// The filter as a boxed [`EventType`], the shape `get_subscriptions` returns.
    pub fn boxed(self) -> Box<dyn EventType> {
        Box::new(self)
    }
}

impl EventType for Filter {
    fn get_name(&self) -> String {
        self.name.clone()
    }

    fn get_filter(&self) -> Result<Vec<u8>, EngineError> {
        Ok(self.bytes.clone())
    }
}
