/** Every error kind of the SDK, by name: its stable number and string code, the same in every SDK. */
export const KINDS: Readonly<{
    /** An argument was invalid. */
    readonly invalid_argument: {
        readonly number: 1;
        readonly code: "EE_INVALID_ARGUMENT";
    };
    /** The engine did not answer in time, even after reconnecting. */
    readonly disconnected: {
        readonly number: 2;
        readonly code: "EE_DISCONNECTED";
    };
    /** The engine refused the request. */
    readonly protocol: {
        readonly number: 3;
        readonly code: "EE_PROTOCOL";
    };
    /** The call was interrupted. */
    readonly interrupted: {
        readonly number: 4;
        readonly code: "EE_INTERRUPTED";
    };
    /** The plugin has quit. */
    readonly closed: {
        readonly number: 5;
        readonly code: "EE_CLOSED";
    };
    /** The engine's reply did not follow the protocol. */
    readonly unexpected_reply: {
        readonly number: 6;
        readonly code: "EE_UNEXPECTED_REPLY";
    };
    /** A ZeroMQ call failed. */
    readonly zmq: {
        readonly number: 7;
        readonly code: "EE_ZMQ";
    };
}>;
/** Stable string codes of the errors, by kind. */
export const ErrorCodes: Readonly<{
    readonly INVALID_ARGUMENT: "EE_INVALID_ARGUMENT";
    readonly DISCONNECTED: "EE_DISCONNECTED";
    readonly PROTOCOL: "EE_PROTOCOL";
    readonly INTERRUPTED: "EE_INTERRUPTED";
    readonly CLOSED: "EE_CLOSED";
    readonly UNEXPECTED_REPLY: "EE_UNEXPECTED_REPLY";
    readonly ZMQ: "EE_ZMQ";
}>;
