// auth::Service, two-factor authentication (RFC 6238): setting up, enabling and disabling
// TOTP, recovery codes, and checking a second factor at login.
#include "auth/service.hpp"
#include "auth/store/audit.hpp"
#include "auth/store/two_factor.hpp"
#include "auth/store/users.hpp"
#include "auth/totp.hpp"
#include "core/async.hpp"
#include "crypto/aead.hpp"

namespace chatd::auth {

Result<bool> Service::use_second_factor(store::Connection& c, const std::string& user_id, const std::string& code,
                                        std::int64_t now, const RequestMeta& meta) {
  auto totp = db::find_totp(c, user_id);
  if (!totp) return totp.error();
  if (!totp.value() || !totp.value()->enabled_at) return false;
  if (looks_like_recovery_code(code)) {
    auto used = db::use_recovery_code(c, user_id, recovery_code_hash(normalize_recovery_code(code)), now);
    if (!used) return used.error();
    if (used.value())
      if (auto r = db::insert_audit(c, AuditEvent("recovery_code.used", user_id, user_id), meta, now); !r)
        return r.error();
    return used.value();
  }
  auto secret = crypto::open(d_.data_key, totp.value()->secret_sealed, "totp:" + user_id);
  if (!secret) return internal_error("cannot unseal a TOTP secret (wrong master key?)");
  auto step = verify_totp(*secret, code, now / 1000, totp.value()->last_used_step.value_or(-1));
  if (!step) return false;
  // The conditional update makes the step single-use even between concurrent logins.
  return db::use_totp_step(c, user_id, *step);
}

Task<TotpSetup> Service::totp_setup(const Principal& who, RequestMeta meta) {
  (void)meta;
  auto user = co_await me(who);
  if (!user) co_return user.error();
  if (user.value().totp_enabled) co_return fail(Code::conflict, "two-factor authentication is already enabled");
  TotpSetup out;
  out.secret = new_totp_secret();
  out.otpauth_uri = otpauth_uri("chatd", user.value().email, out.secret);
  out.qr_svg = qr_svg(out.otpauth_uri);
  auto raw = decode_base32(out.secret);
  if (!raw) co_return internal_error("a generated TOTP secret did not decode");
  std::string sealed = crypto::seal(d_.data_key, std::span<const std::uint8_t>(*raw), "totp:" + who.user_id);
  std::int64_t now = d_.clock.now_ms();
  auto st = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      auto existing = db::find_totp(c, who.user_id);
      if (!existing) return existing.error();
      if (existing.value() && existing.value()->enabled_at)
        return fail(Code::conflict, "two-factor authentication is already enabled");
      return db::put_pending_totp(c, who.user_id, sealed, now);
    });
  });
  if (!st) co_return st.error();
  co_return out;
}

Task<std::vector<std::string>> Service::totp_verify(const Principal& who, std::string code, RequestMeta meta) {
  std::int64_t now = d_.clock.now_ms();
  std::vector<std::string> codes = new_recovery_codes();
  std::vector<std::string> hashes;
  hashes.reserve(codes.size());
  for (const auto& c : codes) hashes.push_back(recovery_code_hash(normalize_recovery_code(c)));
  auto enabled = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      Error wrong = fail(Code::unauthenticated, "the one-time code is wrong", "invalid_otp");
      auto totp = db::find_totp(c, who.user_id);
      if (!totp) return totp.error();
      if (!totp.value()) return fail(Code::conflict, "start with POST /auth/2fa/setup");
      if (totp.value()->enabled_at) return fail(Code::conflict, "two-factor authentication is already enabled");
      auto secret = crypto::open(d_.data_key, totp.value()->secret_sealed, "totp:" + who.user_id);
      if (!secret) return internal_error("cannot unseal a TOTP secret (wrong master key?)");
      auto step = verify_totp(*secret, code, now / 1000, -1);
      if (!step) return wrong;
      auto done = db::enable_totp(c, who.user_id, now, *step);
      if (!done) return done.error();
      if (!done.value()) return fail(Code::conflict, "two-factor authentication is already enabled");
      if (auto r = db::replace_recovery_codes(c, who.user_id, hashes, now); !r) return r;
      return db::insert_audit(c, AuditEvent("totp.enabled", who.user_id, who.user_id), meta, now);
    });
  });
  if (!enabled) co_return enabled.error();
  users_.forget(who.user_id);
  co_return codes;
}

Task<bool> Service::totp_disable(const Principal& who, std::string password, std::string code, RequestMeta meta) {
  auto found = co_await run_blocking(d_.db_pool, [&]() {
    return store::read(d_.db, [&](store::Connection& c) { return db::find_user_by_id(c, who.user_id); });
  });
  if (!found) co_return found.error();
  if (!found.value()) co_return fail(Code::unauthenticated, "the account no longer exists");
  auto good = co_await verify_password(found.value()->password_hash, password);
  if (!good) co_return good.error();
  if (!good.value()) co_return fail(Code::unauthenticated, "the password is wrong", "invalid_credentials");
  std::int64_t now = d_.clock.now_ms();
  auto done = co_await run_blocking(d_.db_pool, [&]() -> Status {
    return store::transact(d_.db, [&](store::Connection& c) -> Status {
      auto used = use_second_factor(c, who.user_id, code, now, meta);
      if (!used) return used.error();
      if (!used.value()) return fail(Code::unauthenticated, "the one-time code is wrong or used", "invalid_otp");
      if (auto r = db::delete_totp(c, who.user_id); !r) return r;
      return db::insert_audit(c, AuditEvent("totp.disabled", who.user_id, who.user_id), meta, now);
    });
  });
  if (!done) co_return done.error();
  users_.forget(who.user_id);
  co_return true;
}

}  // namespace chatd::auth
