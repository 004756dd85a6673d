#include "api/routes.hpp"

#include "api/admin.hpp"
#include "api/api_keys.hpp"
#include "api/auth.hpp"
#include "api/chat.hpp"
#include "api/health.hpp"
#include "api/invitations.hpp"
#include "api/metrics.hpp"
#include "api/openai.hpp"
#include "api/openapi.hpp"

#include <nlohmann/json.hpp>

namespace chatd::api {

namespace {

using http::Access;
using verb = http::bhttp::verb;

// Reading a row: method, pattern, handler, operation id, who may call it, whether it takes a
// JSON body, then its rate-limit buckets, then its documentation (docs/routes.md).
// clang-format off
const std::vector<RouteEntry> kRoutes = {
    // Operations. Health checks and the scraper are outside the per-IP global limit.
    {verb::get, "/healthz", healthz, "healthz", Access::anonymous, false, {}, {}, false,
     {.summary = "Check liveness", .tag = "Health",
      .replies = {{200, "The process serves.", "application/json", "StatusOk"}}}},
    {verb::get, "/readyz", readyz, "readyz", Access::anonymous, false, {}, {}, false,
     {.summary = "Check readiness", .tag = "Health",
      .replies = {{200, "Every dependency is ready.", "application/json", "ReadinessStatus"},
                  {503, "A dependency is not ready: the failing check reads `error: ...`.",
                   "application/json", "ReadinessStatus"}},
      .description = "Checks the database (and Redis when configured). When a check fails the answer is 503 with "
                     "the same ReadinessStatus body (`status: unavailable`, the failing check as `error: ...`)."}},
    {verb::get, "/metrics", metrics, "metrics", Access::anonymous, false, {}, {}, false,
     {.summary = "Scrape Prometheus metrics", .tag = "Operations",
      .replies = {{200, "Prometheus text exposition format 0.0.4.", "text/plain", "MetricsText"}},
      .description = "Needs `Authorization: Bearer <CHATD_METRICS_TOKEN>` when that token is configured (else 401). "
                     "Not rate-limited.",
      .also_accepts = "metricsToken"}},
    {verb::get, "/openapi.json", openapi_document, "openapi", Access::anonymous, false, {}, {}, true,
     {.summary = "Get this OpenAPI document", .tag = "Operations",
      .replies = {{200, "The OpenAPI 3.1 document.", "application/json", "OpenApiDocument"}}}},
    {verb::get, "/docs", api_reference, "docs", Access::anonymous, false, {}, {}, true,
     {.summary = "Read the API reference", .tag = "Operations",
      .replies = {{200, "An HTML page built from the OpenAPI document.", "text/html", "HtmlPage"}}}},
    // Accounts and authentication.
    {verb::post, "/auth/register", register_user, "register", Access::anonymous, true, "register", {}, true,
     {.summary = "Register an account", .tag = "Accounts", .request = "RegisterRequest",
      .replies = {{201, "The account; a verification e-mail is on its way.", "application/json", "UserResponse"}},
      .description = "Open, invite-only (needs `invite_code`) or closed, by CHATD_REGISTRATION. 409 when the e-mail "
                     "or username is taken."}},
    {verb::post, "/auth/email/verify/request", request_verification, "requestEmailVerification",
     Access::anonymous, true, "verify", {}, true,
     {.summary = "Resend the verification e-mail", .tag = "Accounts", .request = "VerifyEmailRequest",
      .replies = {{202, "Accepted, whether or not the address has an unverified account.",
                   "application/json", "AcceptedStatus"}},
      .description = "A new link invalidates the previous one. Rate-limited per IP and per address."}},
    {verb::post, "/auth/email/verify/confirm", confirm_verification, "confirmEmailVerification",
     Access::anonymous, true, "verify", {}, true,
     {.summary = "Confirm an e-mail address", .tag = "Accounts", .request = "VerifyEmailConfirmRequest",
      .replies = {{200, "The verified account.", "application/json", "UserResponse"}},
      .description = "400 `invalid_token` for an unknown, expired or used token."}},
    {verb::post, "/auth/login", login, "login", Access::anonymous, true, "login", {}, true,
     {.summary = "Sign in", .tag = "Sessions", .request = "LoginRequest",
      .replies = {{200, "A new session's tokens.", "application/json", "LoginResponse"}},
      .description = "`\"session\": \"cookie\"` puts the refresh token in the HttpOnly `chatd_refresh` cookie and "
                     "returns a `csrf_token` instead. Repeated failures lock the account (423)."}},
    {verb::post, "/auth/refresh", refresh, "refresh", Access::anonymous, true, "refresh", {}, true,
     {.summary = "Refresh the access token", .tag = "Sessions", .request = "RefreshRequest",
      .replies = {{200, "A new token pair; the old refresh token stops working.", "application/json", "LoginResponse"}},
      .description = "Takes `refresh_token` from the body, else the `chatd_refresh` cookie with `X-CSRF-Token`. "
                     "Presenting a rotated refresh token ends the session (401 `token_reused`).",
      .also_accepts = "refreshCookie"}},
    {verb::post, "/auth/logout", logout, "logout", Access::optional_user, false, {}, {}, true,
     {.summary = "Sign out", .tag = "Sessions",
      .replies = {{204, "The session is revoked (and its cookie cleared).", ""}},
      .description = "Ends the access token's session, or, without one, the `chatd_refresh` cookie's session (needs "
                     "`X-CSRF-Token`).",
      .also_accepts = "refreshCookie"}},
    {verb::post, "/auth/logout-all", logout_all, "logoutAll", Access::user, false, {}, {}, true,
     {.summary = "Sign out everywhere", .tag = "Sessions",
      .replies = {{204, "Every session of the user is revoked.", ""}}}},
    {verb::get, "/auth/me", me, "me", Access::user, false, {}, {}, true,
     {.summary = "Get the current user", .tag = "Accounts",
      .replies = {{200, "The caller's account.", "application/json", "UserResponse"}}}},
    {verb::get, "/auth/sessions", list_sessions, "listSessions", Access::user, false, {}, {}, true,
     {.summary = "List my sessions", .tag = "Sessions",
      .replies = {{200, "The caller's active sessions.", "application/json", "SessionList"}}}},
    {verb::delete_, "/auth/sessions/{id}", delete_session, "deleteSession", Access::user, false, {}, {}, true,
     {.summary = "Revoke one of my sessions", .tag = "Sessions",
      .replies = {{204, "The session is revoked.", ""}},
      .description = "404 for an unknown session or another user's."}},
    {verb::post, "/auth/password/change", change_password, "changePassword", Access::user, true, {}, {}, true,
     {.summary = "Change my password", .tag = "Accounts", .request = "PasswordChangeRequest",
      .replies = {{204, "Changed; every other session is revoked.", ""}},
      .description = "401 `invalid_credentials` for a wrong current password; 422 for a weak new one."}},
    {verb::post, "/auth/password-reset/request", request_password_reset, "requestPasswordReset",
     Access::anonymous, true, "verify", {}, true,
     {.summary = "Request a password reset e-mail", .tag = "Accounts", .request = "PasswordResetRequest",
      .replies = {{202, "Accepted, whether or not the address has an account.", "application/json", "AcceptedStatus"}},
      .description = "When the account exists, an e-mail with a single-use link valid for one hour."}},
    {verb::post, "/auth/password-reset/confirm", confirm_password_reset, "confirmPasswordReset",
     Access::anonymous, true, "verify", {}, true,
     {.summary = "Reset a password", .tag = "Accounts", .request = "PasswordResetConfirmRequest",
      .replies = {{204, "The password is set; every session is revoked.", ""}},
      .description = "400 `invalid_token` for an unknown, expired or used token; 422 for a weak password (the token "
                     "stays usable)."}},
    {verb::post, "/auth/2fa/setup", totp_setup, "setupTwoFactor", Access::user, false, "otp", {}, true,
     {.summary = "Start two-factor setup", .tag = "Two-factor",
      .replies = {{200, "A new pending TOTP secret.", "application/json", "TotpSetup"}},
      .description = "Replaces a pending secret; 409 when 2FA is already on."}},
    {verb::post, "/auth/2fa/verify", totp_verify, "verifyTwoFactor", Access::user, true, "otp", {}, true,
     {.summary = "Turn on two-factor authentication", .tag = "Two-factor", .request = "TotpVerifyRequest",
      .replies = {{200, "2FA is on; the recovery codes, shown only here.", "application/json", "RecoveryCodes"}},
      .description = "401 `invalid_otp` for a wrong code."}},
    {verb::post, "/auth/2fa/disable", totp_disable, "disableTwoFactor", Access::user, true, "otp", {}, true,
     {.summary = "Turn off two-factor authentication", .tag = "Two-factor", .request = "TotpDisableRequest",
      .replies = {{204, "2FA is off.", ""}},
      .description = "Needs the password and a current or recovery code."}},
    {verb::get, "/auth/keys/jwks.json", jwks, "jwks", Access::anonymous, false, {}, {}, true,
     {.summary = "Get the token signing keys (JWKS)", .tag = "Keys",
      .replies = {{200, "Every public key whose access tokens may still be valid.",
                   "application/json", "JsonWebKeySet"}}}},
    {verb::get, "/.well-known/jwks.json", jwks, "wellKnownJwks", Access::anonymous, false, {}, {}, true,
     {.summary = "Get the token signing keys (JWKS)", .tag = "Keys",
      .replies = {{200, "Every public key whose access tokens may still be valid.",
                   "application/json", "JsonWebKeySet"}},
      .description = "The same key set as GET /auth/keys/jwks.json."}},
    {verb::post, "/auth/keys/rotate", rotate_keys, "rotateKeys", Access::admin, false, {}, {}, true,
     {.summary = "Rotate the token signing key", .tag = "Keys",
      .replies = {{200, "The new signing key's id.", "application/json", "KeyRotation"}},
      .description = "New tokens use the new key; tokens signed before stay valid until they expire."}},
    {verb::get, "/admin/keys", signing_keys, "listSigningKeys", Access::admin, false, {}, {}, true,
     {.summary = "List the signing keys", .tag = "Keys",
      .replies = {{200, "The current key and every key still in the JWKS.", "application/json", "SigningKeyList"}}}},
    // Invitations and API keys.
    {verb::post, "/invitations", create_invitation, "createInvitation", Access::user, true, {}, {}, true,
     {.summary = "Create an invitation", .tag = "Invitations", .request = "CreateInvitationRequest",
      .replies = {{201, "The invitation with its code, shown only here.", "application/json", "CreatedInvitation"}},
      .description = "Admins always; other verified users when CHATD_USER_INVITES=true (at most 100 open ones), "
                     "else 403."}},
    {verb::get, "/invitations", list_invitations, "listInvitations", Access::user, false, {}, {}, true,
     {.summary = "List my invitations", .tag = "Invitations", .params = {"Limit", "Cursor"},
      .replies = {{200, "A page of the caller's invitations, newest first.", "application/json", "InvitationPage"}}}},
    {verb::delete_, "/invitations/{id}", delete_invitation, "deleteInvitation", Access::user, false, {}, {}, true,
     {.summary = "Delete an invitation", .tag = "Invitations",
      .replies = {{204, "Deleted; its code stops working.", ""}},
      .description = "404 for an unknown id or another user's invitation."}},
    {verb::post, "/api-keys", create_api_key, "createApiKey", Access::user, true, {}, {}, true,
     {.summary = "Create an API key", .tag = "API keys", .request = "CreateApiKeyRequest",
      .replies = {{201, "The key, shown only here.", "application/json", "CreatedApiKey"}},
      .description = "API keys authenticate the /v1 routes only. 409 beyond 100 keys."}},
    {verb::get, "/api-keys", list_api_keys, "listApiKeys", Access::user, false, {}, {}, true,
     {.summary = "List my API keys", .tag = "API keys",
      .replies = {{200, "The caller's keys, newest first, without secrets.", "application/json", "ApiKeyList"}}}},
    {verb::delete_, "/api-keys/{id}", delete_api_key, "deleteApiKey", Access::user, false, {}, {}, true,
     {.summary = "Delete an API key", .tag = "API keys",
      .replies = {{204, "Deleted; the key stops working at once.", ""}},
      .description = "404 for an unknown, deleted or another user's key."}},
    // Administration.
    {verb::get, "/admin/ping", admin_ping, "adminPing", Access::admin, false, {}, {}, true,
     {.summary = "Check admin access", .tag = "Admin",
      .replies = {{200, "The caller is an administrator.", "application/json", "StatusOk"}}}},
    {verb::get, "/admin/users", list_users, "listUsers", Access::admin, false, {}, {}, true,
     {.summary = "List users", .tag = "Admin", .params = {"UserSearch", "Limit", "Cursor"},
      .replies = {{200, "A page of accounts, newest first.", "application/json", "AdminUserPage"}}}},
    {verb::get, "/admin/users/{id}", get_user, "getUser", Access::admin, false, {}, {}, true,
     {.summary = "Get a user", .tag = "Admin",
      .replies = {{200, "The account.", "application/json", "AdminUser"}}}},
    {verb::patch, "/admin/users/{id}", patch_user, "updateUser", Access::admin, true, {}, {}, true,
     {.summary = "Update a user", .tag = "Admin", .request = "AdminUserPatch",
      .replies = {{200, "The updated account.", "application/json", "AdminUser"}},
      .description = "Sets roles, disables (revoking every session) or enables, or unlocks. Administrators cannot "
                     "remove their own admin role or disable themselves (422)."}},
    {verb::post, "/admin/users/{id}/sessions/revoke", revoke_user_sessions, "revokeUserSessions",
     Access::admin, false, {}, {}, true,
     {.summary = "Revoke all sessions of a user", .tag = "Admin",
      .replies = {{204, "Every session of the user is revoked.", ""}}}},
    {verb::get, "/admin/audit", audit_log, "auditLog", Access::admin, false, {}, {}, true,
     {.summary = "Read the audit log", .tag = "Admin",
      .params = {"AuditUserId", "AuditEventName", "AuditFrom", "AuditTo", "Limit", "Cursor"},
      .replies = {{200, "A page of audit events, newest first.", "application/json", "AuditEventPage"}}}},
    {verb::get, "/admin/usage", admin_usage, "adminUsage", Access::admin, false, {}, {}, true,
     {.summary = "Report usage of all users", .tag = "Admin",
      .params = {"AdminUsageGroupBy", "UsageFrom", "UsageTo", "AdminUsageUserId"},
      .replies = {{200, "Usage totals per group.", "application/json", "AdminUsageReport"}},
      .description = "Groups usage events between `from` and `to` (default the last 30 days) by user, model, UTC "
                     "day or a pair of them."}},
    // Chat.
    {verb::get, "/models", list_models, "listModels", Access::user, false, {}, {}, true,
     {.summary = "List models", .tag = "Chat",
      .replies = {{200, "The models available, and the default one.", "application/json", "ModelList"}}}},
    {verb::post, "/conversations", create_conversation, "createConversation", Access::user, true, {}, {}, true,
     {.summary = "Create a conversation", .tag = "Chat", .request = "CreateConversationRequest",
      .replies = {{201, "The new conversation (its URL in `Location`).", "application/json", "Conversation"}},
      .description = "422 for an unknown model."}},
    {verb::get, "/conversations", list_conversations, "listConversations", Access::user, false, {}, {}, true,
     {.summary = "List my conversations", .tag = "Chat", .params = {"ConversationSearch", "Limit", "Cursor"},
      .replies = {{200, "A page of conversations, most recently updated first.",
                   "application/json", "ConversationPage"}}}},
    {verb::get, "/conversations/{id}", get_conversation, "getConversation", Access::user, false, {}, {}, true,
     {.summary = "Get a conversation", .tag = "Chat",
      .replies = {{200, "The conversation.", "application/json", "Conversation"}},
      .description = "404 also for another user's conversation."}},
    {verb::patch, "/conversations/{id}", update_conversation, "updateConversation", Access::user, true, {}, {}, true,
     {.summary = "Update a conversation", .tag = "Chat", .request = "UpdateConversationRequest",
      .replies = {{200, "The updated conversation.", "application/json", "Conversation"}}}},
    {verb::delete_, "/conversations/{id}", delete_conversation, "deleteConversation", Access::user, false, {}, {}, true,
     {.summary = "Delete a conversation", .tag = "Chat",
      .replies = {{204, "Deleted; gone from list and get.", ""}}}},
    {verb::get, "/conversations/{id}/messages", list_messages, "listMessages", Access::user, false, {}, {}, true,
     {.summary = "List a conversation's messages", .tag = "Chat", .params = {"Limit", "Cursor", "MessageOrder"},
      .replies = {{200, "A page of messages, oldest first (newest first with order=desc).",
                   "application/json", "MessagePage"}}}},
    {verb::post, "/conversations/{id}/messages", send_message, "sendMessage", Access::user, true, {}, "message", true,
     {.summary = "Send a message", .tag = "Chat", .request = "SendMessageRequest",
      .replies = {{201, "Without `Accept: text/event-stream`: both stored messages, once the model is done.",
                   "application/json", "SendMessageResponse"},
                  {200, "With `Accept: text/event-stream`: the answer as server-sent events.",
                   "text/event-stream", "MessageEventStream"}},
      .description = "Stores the message and asks the model, which sees the system prompt and the history that fits "
                     "its context window. A provider failure is 502 `upstream_error` / 504 `upstream_timeout` (the "
                     "messages are stored all the same); the daily quota and the `message` rate limit answer 429."}},
    {verb::get, "/usage", own_usage, "usage", Access::user, false, {}, {}, true,
     {.summary = "Get my usage and quota", .tag = "Usage", .params = {"UsageGroupBy", "UsageFrom", "UsageTo"},
      .replies = {{200, "Totals since the account was created, the quota, and with `group_by` a breakdown.",
                   "application/json", "UsageSummary"}}}},
    // The OpenAI-compatible endpoint.
    {verb::get, "/v1/models", openai_models, "openaiListModels", Access::api, false, {}, {}, true,
     {.summary = "List models (OpenAI format)", .tag = "OpenAI-compatible",
      .replies = {{200, "OpenAI model list.", "application/json", "OpenAIModelList"}}}},
    {verb::post, "/v1/chat/completions", chat_completions, "createChatCompletion",
     Access::api, true, {}, "message", true,
     {.summary = "Create a chat completion", .tag = "OpenAI-compatible", .request = "ChatCompletionRequest",
      .replies = {{200, "With `stream` false or absent: a chat.completion object.",
                   "application/json", "ChatCompletion"},
                  {200, "With `\"stream\": true`: chat.completion.chunk events ending in `data: [DONE]`.",
                   "text/event-stream", "ChatCompletionChunkStream"}},
      .description = "OpenAI Chat Completions, for any configured provider; counts toward usage, the quota and the "
                     "`message` rate limit; not stored as a conversation. Errors use OpenAI's shape."}},
    {verb::post, "/v1/embeddings", embeddings, "createEmbedding", Access::api, true, {}, "message", true,
     {.summary = "Create embeddings", .tag = "OpenAI-compatible", .request = "EmbeddingRequest",
      .replies = {{200, "One vector per input, in order.", "application/json", "EmbeddingList"}},
      .description = "OpenAI Embeddings, for embedding models of OpenAI-compatible servers and Bedrock (Amazon "
                     "Titan Text Embeddings, Cohere Embed); counts toward usage, the quota and the `message` rate "
                     "limit. Errors use OpenAI's shape."}},
};
// clang-format on

}  // namespace

const std::vector<RouteEntry>& route_table() { return kRoutes; }

void add_api_routes(http::Router& router, const Services& services) {
  for (const RouteEntry& e : kRoutes) {
    http::Route r;
    r.method = e.method;
    r.pattern = std::string(e.pattern);
    r.handler = [handler = e.handler, &services](http::Context& ctx) { return handler(services, ctx); };
    r.json_body = e.json_body;
    r.access = e.access;
    r.rate_bucket = std::string(e.rate_bucket);
    r.global_limit = e.global_limit;
    r.user_rate_bucket = std::string(e.user_rate_bucket);
    router.add(std::move(r));
  }
}

std::string_view access_name(http::Access access) {
  switch (access) {
    case Access::anonymous: return "anonymous";
    case Access::user: return "user";
    case Access::admin: return "admin";
    case Access::api: return "api";
    case Access::optional_user: return "optional_user";
  }
  return "anonymous";
}

std::string route_table_json() {
  nlohmann::json table = nlohmann::json::array();
  for (const RouteEntry& e : kRoutes) {
    table.push_back({{"method", std::string(http::bhttp::to_string(e.method))},
                     {"path", e.pattern},
                     {"operation_id", e.operation},
                     {"access", access_name(e.access)},
                     {"json_body", e.json_body},
                     {"rate_bucket", e.rate_bucket},
                     {"user_rate_bucket", e.user_rate_bucket},
                     {"global_limit", e.global_limit},
                     {"summary", e.doc.summary},
                     {"tag", e.doc.tag}});
  }
  return table.dump(2);
}

}  // namespace chatd::api
