// The Tauri backend's wiring of the new commands: each goes to its Rust command with the
// argument names the generated bindings use, and a refusal comes back as an IpcError.
import { beforeEach, describe, expect, it, vi } from "vitest";

const invoke = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invoke(...args) }));

const { TauriBackend } = await import("../src/lib/tauri");
const { IpcError } = await import("../src/lib/backend");

beforeEach(() => invoke.mockReset());

describe("TauriBackend", () => {
  it("connect_with_key, check_provider_credentials and set_mode", async () => {
    const backend = new TauriBackend();
    invoke.mockResolvedValueOnce({ id: 7 });
    expect(await backend.connectWithKey("garmin", "gk", "2027-01-31")).toEqual({ id: 7 });
    expect(invoke).toHaveBeenLastCalledWith("connect_with_key", { provider: "garmin", key: "gk", keyExpiresOn: "2027-01-31" });
    invoke.mockResolvedValueOnce({ accepted: null, message: "could not tell" });
    expect(await backend.checkProviderCredentials("polar")).toEqual({ accepted: null, message: "could not tell" });
    expect(invoke).toHaveBeenLastCalledWith("check_provider_credentials", { provider: "polar" });
    invoke.mockResolvedValueOnce(null);
    await backend.setMode("real");
    expect(invoke).toHaveBeenLastCalledWith("set_mode", { mode: "real" });
  });

  it("a refusal is an IpcError with the core's code", async () => {
    const backend = new TauriBackend();
    invoke.mockRejectedValueOnce({ code: "secret_store", message: "the keyring is locked" });
    const error = await backend.connectWithKey("garmin", "gk", null).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IpcError);
    expect(error).toMatchObject({ code: "secret_store", message: "the keyring is locked" });
  });
});
