//! The C entry points against a fake engine that answers with scripted replies: the error
//! paths a real engine does not produce on demand (`EE_PROTOCOL` with its wire code,
//! `EE_UNEXPECTED_REPLY`, a v1-only engine). Called from Rust exactly as C calls them.

use std::ffi::{CStr, CString};
use std::thread::JoinHandle;

use event_engine::zmq;
use event_engine_c::client::*;
use event_engine_c::error::*;
use event_engine_c::event::*;
use event_engine_c::info::ee_plugin_stats_t;

/// A REP socket on a free port answering each request with the next scripted reply; returns
/// the endpoint and the thread, which yields the requests it received.
fn fake_engine(replies: Vec<&'static [u8]>) -> (String, JoinHandle<Vec<Vec<Vec<u8>>>>) {
    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP).unwrap();
    rep.set_linger(0).unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = rep.get_last_endpoint().unwrap().unwrap();
    let thread = std::thread::spawn(move || {
        let _ctx = ctx;
        let mut requests = Vec::new();
        for reply in replies {
            requests.push(rep.recv_multipart(0).unwrap());
            rep.send(reply, 0).unwrap();
        }
        requests
    });
    (endpoint, thread)
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(ee_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn connect(endpoint: &str) -> *mut ee_client_t {
    let mut options = std::mem::MaybeUninit::<ee_client_options_t>::uninit();
    assert_eq!(
        ee_client_options_default(options.as_mut_ptr()),
        ee_status_t::EE_OK
    );
    let mut options = unsafe { options.assume_init() };
    options.reply_timeout_ms = 2000;
    options.retries = 0;
    let endpoint = CString::new(endpoint).unwrap();
    let mut client = std::ptr::null_mut();
    assert_eq!(
        ee_client_connect(endpoint.as_ptr(), &options, &mut client),
        ee_status_t::EE_OK
    );
    client
}

#[test]
fn refusals_carry_the_engine_code_and_odd_replies_are_unexpected() {
    let (endpoint, engine) = fake_engine(vec![
        b"event-engine: error pending_full: the plugin holds 100000 events",
        b"event-engine: error bad_argument: max must be 1..=65536",
        b"not a status at all",
        b"event-engine: msg published",
        b"event-engine: error no_such_code: what?",
        b"event-engine: bye",
    ]);
    let client = connect(&endpoint);

    let mut info = std::ptr::null_mut();
    assert_eq!(ee_client_info(client, &mut info), ee_status_t::EE_PROTOCOL);
    assert!(info.is_null());
    assert_eq!(
        ee_last_error_wire_code(),
        ee_wire_code_t::EE_WIRE_PENDING_FULL
    );
    assert!(last_error().contains("100000 events"), "{}", last_error());

    let mut batch = std::ptr::null_mut();
    assert_eq!(
        ee_client_next_batch(client, 10, 0, &mut batch),
        ee_status_t::EE_PROTOCOL
    );
    assert_eq!(
        ee_last_error_wire_code(),
        ee_wire_code_t::EE_WIRE_BAD_ARGUMENT
    );

    let mut stats = ee_plugin_stats_t::default();
    assert_eq!(
        ee_client_stats(client, &mut stats),
        ee_status_t::EE_UNEXPECTED_REPLY
    );
    assert_eq!(ee_last_error_wire_code(), ee_wire_code_t::EE_WIRE_NONE);

    // An engine that speaks only v1 publishes the v2 command as an event.
    let events = [ee_bytes_t {
        data: b"TypeA1".as_ptr(),
        len: 6,
    }];
    let mut published = 99;
    assert_eq!(
        ee_client_publish_batch(client, events.as_ptr(), 1, &mut published),
        ee_status_t::EE_UNEXPECTED_REPLY
    );
    assert_eq!(published, 0);

    let mut stats = ee_plugin_stats_t::default();
    assert_eq!(
        ee_client_stats(client, &mut stats),
        ee_status_t::EE_UNEXPECTED_REPLY
    );
    assert!(last_error().contains("no_such_code"), "{}", last_error());

    assert_eq!(ee_client_quit(client), ee_status_t::EE_OK);
    assert_eq!(last_error(), "");
    ee_client_free(client);

    let requests = engine.join().unwrap();
    assert_eq!(requests[0], vec![b"plugin_command: hello".to_vec()]);
    assert_eq!(
        requests[3],
        vec![b"plugin_command: publish".to_vec(), b"TypeA1".to_vec()]
    );
    assert_eq!(requests[5], vec![b"plugin_command: quit".to_vec()]);
}
