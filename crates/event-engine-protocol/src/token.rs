//! Plugin tokens: the credential a process presents (ZAP PLAIN, as its password) to be admitted
//! to an external plugin's port. The engine and every client check a token by this one rule.

/// The user name a client presents with its token (the engine does not check it).
pub const USERNAME: &str = "plugin";
/// The shortest token accepted, in bytes.
pub const MIN_LEN: usize = 16;
/// The longest token accepted, in bytes (a ZMTP PLAIN password is at most 255 bytes).
pub const MAX_LEN: usize = 255;

/// Checks a token: [`MIN_LEN`] to [`MAX_LEN`] bytes of printable ASCII with no spaces (it travels
/// in environment variables and files). The error says what is wrong, never the token.
///
/// ```
/// use event_engine_protocol::token;
///
/// assert!(token::check("0123456789abcdef0123").is_ok());
/// assert!(token::check("short").is_err());
/// assert!(token::check("with a space in it......").is_err());
/// ```
pub fn check(token: &str) -> Result<(), String> {
    if token.len() < MIN_LEN || token.len() > MAX_LEN {
        return Err(format!(
            "a plugin token must be {MIN_LEN} to {MAX_LEN} bytes long (this one has {})",
            token.len()
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a plugin token must be printable ASCII with no spaces".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_characters() {
        assert!(check(&"x".repeat(MIN_LEN)).is_ok());
        assert!(check(&"x".repeat(MAX_LEN)).is_ok());
        assert!(check(&"x".repeat(MIN_LEN - 1)).is_err());
        assert!(check(&"x".repeat(MAX_LEN + 1)).is_err());
        assert!(check("0123456789abcdef\n").is_err());
        assert!(check("0123456789abcdé").is_err());
        assert!(!check("secret-secret-secret x")
            .unwrap_err()
            .contains("secret"));
    }
}
