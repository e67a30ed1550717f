// Errors: every failure is a FountError with a stable `code`; each code has its own subclass,
// so callers can write `catch (e) { if (e instanceof NotEntitledError) … }`.

export class FountError extends Error {
  /** @param {string} message @param {string} code */
  constructor(message, code) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

const classes = {};
function kind(code, name) {
  const cls = { [name]: class extends FountError {} }[name];
  classes[code] = cls;
  return cls;
}

export const NetworkError = kind('network', 'NetworkError');
export const UnauthorizedError = kind('unauthorized', 'UnauthorizedError');
export const NotEntitledError = kind('not_entitled', 'NotEntitledError');
export const DeviceLimitReachedError = kind('device_limit_reached', 'DeviceLimitReachedError');
export const DeviceNotRegisteredError = kind('device_not_registered', 'DeviceNotRegisteredError');
export const DeviceRemovalTooSoonError = kind('device_removal_too_soon', 'DeviceRemovalTooSoonError');
export const WrongDeviceError = kind('wrong_device', 'WrongDeviceError');
export const NotYetValidError = kind('not_yet_valid', 'NotYetValidError');
export const ExpiredError = kind('expired', 'ExpiredError');
export const RenewRequiredError = kind('renew_required', 'RenewRequiredError');
export const ClockRolledBackError = kind('clock_rolled_back', 'ClockRolledBackError');
export const RevokedError = kind('revoked', 'RevokedError');
export const ReturnedError = kind('returned', 'ReturnedError');
export const NotLicensedError = kind('not_licensed', 'NotLicensedError');
export const NotFoundError = kind('not_found', 'NotFoundError');
export const TamperedError = kind('tampered', 'TamperedError');
export const KeyStoreError = kind('key_store', 'KeyStoreError');
export const StorageError = kind('storage', 'StorageError');
export const InvalidInputError = kind('invalid_input', 'InvalidInputError');
export const ServerError = kind('server', 'ServerError');
export const QuotaExceededError = kind('quota_exceeded', 'QuotaExceededError');

/** The error the wasm module rejected with, as its FountError subclass. */
export function fromWasm(e) {
  if (e && e.name === 'FountError' && typeof e.code === 'string') {
    const cls = classes[e.code] ?? FountError;
    return new cls(e.message, e.code);
  }
  return e;
}
