//! CURVE (ZeroMQ RFC 26) on external plugin ports: run by `make test-curve`.

#[test]
fn curve_is_available_where_required() {
    let has = zmq::has("curve").unwrap_or(false);
    if std::env::var_os("EE_REQUIRE_CURVE").is_some() {
        assert!(has, "EE_REQUIRE_CURVE is set and this libzmq has no CURVE");
    }
}
