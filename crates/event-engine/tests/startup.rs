//! The start-up race of 0.2: events published at once must reach every plugin, internal and
//! external, in every run.

mod common;

use common::ReqClient;
use event_engine::events::Filter;
use event_engine::plugins::{ExternalPluginSpec, FnPlugin};
use event_engine::App;

const EARLY: usize = 10;

#[test]
fn events_published_at_once_are_never_missed_200_runs() {
    for run in 0..200 {
        let producer = FnPlugin::new("eager-producer", |pub_socket, _sub| {
            for i in 0..EARLY {
                pub_socket.send(format!("Early{i}").as_bytes(), 0)?;
            }
            Ok(())
        });
        let consumer = FnPlugin::new("consumer", |_pub, sub| {
            for i in 0..EARLY {
                assert_eq!(sub.recv_bytes(0)?, format!("Early{i}").into_bytes());
            }
            Ok(())
        })
        .subscribe(Filter::new("Early"));
        let external = ExternalPluginSpec::new("external", 0).subscribe(Filter::new("Early"));
        let app = App::new(0, 0)
            .with_plugin(producer)
            .with_plugin(consumer)
            .with_external_plugin(external)
            .start()
            .unwrap();
        // The external process connects late, after the events were published: they waited.
        let client = ReqClient::connect(app.external_port("external").unwrap());
        for i in 0..EARLY {
            assert_eq!(
                client.ask(b"plugin_command: next_msg"),
                format!("Early{i}").into_bytes(),
                "run {run}"
            );
        }
        client.socket.send("plugin_command: quit", 0).unwrap();
        let report = app.wait().unwrap();
        report.result().unwrap_or_else(|e| panic!("run {run}: {e}"));
    }
}
