//! `NativePlugin`: the client as a JavaScript class whose blocking calls return Promises.

use std::sync::{Arc, Mutex};

use event_engine_client::{options as rules, CancelToken, Client};
use napi::bindgen_prelude::{AsyncTask, BufferSlice};
use napi::Env;
use napi_derive::napi;

use crate::error::to_js_error;
use crate::options::{timeout, NativeOptions, NativeTarget};
use crate::task::{ClientTask, Op};

/// A connection to one external plugin's port. Every method that talks to the engine returns a
/// Promise and runs on libuv's thread pool, so the event loop keeps running while it waits.
///
/// Calls are not meant to overlap (the package's `Plugin` class queues them): an overlapping
/// call waits for the one before it on a worker thread.
#[napi]
pub struct NativePlugin {
    client: Arc<Mutex<Client>>,
    cancel: CancelToken,
    endpoint: String,
}

#[napi]
impl NativePlugin {
    /// Opens a connection to `target` (resolved by the SDK core's rule, with the launch
    /// environment). Connecting is lazy: this sends nothing, and an engine that is not there yet
    /// is found when it starts.
    #[napi(factory)]
    pub fn open(
        env: Env,
        target: Option<NativeTarget>,
        options: Option<NativeOptions>,
    ) -> napi::Result<NativePlugin> {
        let opened = target
            .unwrap_or_default()
            .to_target()
            .and_then(|t| Ok((t, options.unwrap_or_default().to_client()?)))
            .and_then(|(t, o)| Client::open(&t, o));
        let client = opened.map_err(|e| to_js_error(&env, &e))?;
        Ok(NativePlugin {
            cancel: client.cancel_token(),
            endpoint: client.endpoint().to_string(),
            client: Arc::new(Mutex::new(client)),
        })
    }

    /// The endpoint this plugin talks to.
    #[napi(getter)]
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    fn task(&self, op: Op) -> AsyncTask<ClientTask> {
        AsyncTask::new(ClientTask::new(Arc::clone(&self.client), op))
    }

    /// Who the plugin is and what the engine supports.
    #[napi(ts_return_type = "Promise<PluginInfo>")]
    pub fn info(&self) -> AsyncTask<ClientTask> {
        self.task(Op::Info)
    }

    /// The plugin's counters on the engine.
    #[napi(ts_return_type = "Promise<PluginStats>")]
    pub fn stats(&self) -> AsyncTask<ClientTask> {
        self.task(Op::Stats)
    }

    /// The next event, or `null` when none came within `timeoutMs` (`undefined`/`null`: no limit).
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn next(&self, timeout_ms: Option<f64>) -> AsyncTask<ClientTask> {
        self.task(match timeout(timeout_ms) {
            Ok(t) => Op::Next(t),
            Err(e) => Op::Fail(e),
        })
    }

    /// Up to `max` events (1 to 65536), waiting at most `timeoutMs` for the first; what is
    /// available at once after the first comes in the same batch. Empty when none came in time.
    #[napi(ts_return_type = "Promise<Buffer[]>")]
    pub fn next_batch(&self, max: f64, timeout_ms: Option<f64>) -> AsyncTask<ClientTask> {
        let op = rules::batch_max(max).and_then(|max| Ok(Op::NextBatch(max, timeout(timeout_ms)?)));
        self.task(op.unwrap_or_else(Op::Fail))
    }

    /// Publishes the events, in order, in as few round trips as the SDK core's batches allow;
    /// resolves to how many (0 for none, without a request).
    #[napi(ts_return_type = "Promise<number>")]
    pub fn publish(&self, events: Vec<BufferSlice>) -> AsyncTask<ClientTask> {
        // Copied now: JavaScript may change its buffers while the worker thread sends.
        let events: Vec<Vec<u8>> = events.iter().map(|b| b.to_vec()).collect();
        self.task(Op::Publish(events))
    }

    /// Tells the engine this plugin is done. Later calls fail with `EE_CLOSED`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn quit(&self) -> AsyncTask<ClientTask> {
        self.task(Op::Quit)
    }

    /// Makes the running call (and later ones, until `resetCancel`) end with `EE_INTERRUPTED`
    /// within `pollSliceMs`.
    #[napi]
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Clears a cancellation.
    #[napi]
    pub fn reset_cancel(&self) {
        self.cancel.reset();
    }
}
