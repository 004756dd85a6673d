// The one-shot commands: `chatd migrate` and `chatd create-admin`.
#include "app/app.hpp"
#include "app/startup.hpp"
#include "auth/model.hpp"
#include "auth/password_policy.hpp"
#include "auth/store/audit.hpp"
#include "auth/store/roles.hpp"
#include "auth/store/users.hpp"
#include "auth/validation.hpp"
#include "core/ids.hpp"
#include "core/time.hpp"
#include "crypto/password_hash.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace chatd::app {

int run_migrate(const config::Config& config) {
  Logger log(config.log_level, config.log_format);
  if (!ensure_data_dir(config, log)) return 1;
  return open_and_migrate(config, log) ? 0 : 1;
}

int run_create_admin(const config::Config& config, const std::string& email_in, const std::string& username,
                     const std::string& password) {
  Logger log(config.log_level, config.log_format);
  if (!ensure_data_dir(config, log)) return 1;
  auto db = open_and_migrate(config, log);
  if (!db) return 1;
  std::string email = auth::normalize_email(email_in);
  auto normalized = auth::normalize_password(password);
  if (!normalized) {
    std::fprintf(stderr, "chatd: the password is not valid UTF-8\n");
    return 2;
  }
  auth::PasswordPolicy policy;
  policy.min_length = config.password_min_length;
  std::vector<std::string_view> inputs{email, username};
  auto problems = auth::check_password(*normalized, policy, inputs);
  for (const auto& p : problems) std::fprintf(stderr, "chatd: password: %s\n", p.c_str());
  if (!problems.empty()) return 2;
  auto hashed = crypto::password::hash(*normalized);
  if (!hashed) return 1;

  std::int64_t now = system_now_ms();
  bool promoted = false;
  auth::RequestMeta meta{"", "chatd create-admin", ""};
  auto st = store::transact(*db, [&](store::Connection& c) -> Status {
    auto existing = auth::db::find_user_by_email(c, email);
    if (!existing) return existing.error();
    if (existing.value()) {
      const auto& user = *existing.value();
      promoted = true;
      if (auto r = auth::db::add_role(c, user.id, "admin"); !r) return r;
      if (!user.email_verified_at)
        if (auto r = auth::db::set_email_verified(c, user.id, now); !r) return r;
      nlohmann::json detail = {{"added", "admin"}, {"by", "create-admin"}};
      return auth::db::insert_audit(c, auth::AuditEvent("role.changed", user.id, std::nullopt, detail.dump()), meta,
                                    now);
    }
    auth::User user;
    user.id = new_uuid_v7(now);
    user.email = email;
    user.username = username;
    user.password_hash = hashed.value();
    user.email_verified_at = now;
    user.created_at = user.updated_at = now;
    user.roles = {"user", "admin"};
    if (auto r = auth::db::insert_user(c, user); !r) return r;
    return auth::db::insert_audit(
        c,
        auth::AuditEvent("user.registered", user.id, std::nullopt, R"({"by":"create-admin","roles":["user","admin"]})"),
        meta, now);
  });
  if (!st) {
    if (st.error().code == Code::conflict) {
      std::fprintf(stderr, "chatd: the username %s is taken by another account\n", username.c_str());
      return 2;
    }
    std::fprintf(stderr, "chatd: %s\n", st.error().detail.c_str());
    return 1;
  }
  std::printf("%s %s as an administrator\n", promoted ? "promoted" : "created", email.c_str());
  return 0;
}

}  // namespace chatd::app
