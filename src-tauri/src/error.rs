//! What a failed command sends the UI: a stable code to branch on and a sentence to show.

use serde::Serialize;
use tributary_core::ErrorCode;

/// A command's error as the UI receives it.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CommandError {
    /// Stable code (the UI branches on this, never on the message).
    pub code: ErrorCode,
    /// A short sentence for the athlete.
    pub message: String,
}

impl From<tributary_core::Error> for CommandError {
    fn from(error: tributary_core::Error) -> Self {
        // The full chain goes to the log; the UI gets the readable top line.
        let mut chain = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            chain.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        tracing::warn!(code = error.code().as_str(), error = %chain, "command failed");
        Self {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

/// What every command returns.
pub type CommandResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_message() {
        let error: CommandError = tributary_core::Error::Validation("nope".into()).into();
        let json = serde_json::to_value(error).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "validation", "message": "nope"})
        );
    }
}
