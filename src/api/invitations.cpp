#include "api/invitations.hpp"

#include "api/common.hpp"
#include "api/input.hpp"
#include "api/pagination.hpp"
#include "api/reply.hpp"
#include "core/time.hpp"
#include "http/problem.hpp"

namespace chatd::api {

namespace bhttp = boost::beast::http;
using boost::asio::awaitable;
using http::Context;
using http::Response;

namespace {

nlohmann::json text_or_null(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

}  // namespace

Result<NewInvitationRequest> read_new_invitation(const nlohmann::json& body) {
  BodyReader in(body);
  NewInvitationRequest out;
  out.email = in.optional_string("email", 254);
  std::vector<FieldError> fields;
  if (auto st = in.finish(); !st) fields = st.error().fields;
  if (auto it = body.find("expires_in_hours"); it != body.end() && !it->is_null()) {
    if (it->is_number_unsigned()) {
      // Anything this large is out of range; do not let it wrap negative.
      auto v = it->get<std::uint64_t>();
      out.expires_in_hours = v > 1'000'000 ? 1'000'000 : static_cast<std::int64_t>(v);
    } else if (it->is_number_integer()) {
      out.expires_in_hours = it->get<std::int64_t>();
    } else {
      fields.push_back({"expires_in_hours", "must be an integer"});
    }
  }
  if (!fields.empty()) return Error::validation(std::move(fields));
  return out;
}

namespace {

nlohmann::json invitation_json(const auth::Invitation& inv) {
  return {{"id", inv.id},
          {"code_prefix", inv.code_prefix},
          {"email", text_or_null(inv.email)},
          {"created_at", format_rfc3339(inv.created_at)},
          {"expires_at", format_rfc3339(inv.expires_at)},
          {"accepted_at", time_or_null(inv.accepted_at)},
          {"invitee_id", text_or_null(inv.invitee_id)}};
}

nlohmann::json created_json(const auth::NewInvitation& created) {
  return {{"id", created.invitation.id},
          {"code", created.code},
          {"expires_at", format_rfc3339(created.invitation.expires_at)}};
}

nlohmann::json page_json(const auth::InvitationPage& page) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& inv : page.items) items.push_back(invitation_json(inv));
  nlohmann::json next = nullptr;
  if (page.more && !page.items.empty()) next = encode_cursor(page.items.back().created_at, page.items.back().id);
  return {{"items", std::move(items)}, {"next_cursor", std::move(next)}, {"can_create", page.may_create}};
}

}  // namespace

HandlerResult create_invitation(const Services& s, Context& ctx) {
  auto req = read_new_invitation(ctx.body);
  if (!req) co_return http::error_response(ctx, req.error());
  // The only time the code is shown.
  co_return reply(
      ctx, co_await s.invitations.create(*ctx.principal, req.value().email, req.value().expires_in_hours, meta_of(ctx)),
      [](const auto& created) { return no_store(http::json_response(bhttp::status::created, created_json(created))); });
}

HandlerResult list_invitations(const Services& s, Context& ctx) {
  auto request = page_request(ctx);
  if (!request) co_return http::error_response(ctx, request.error());
  co_return reply_json(
      ctx, bhttp::status::ok,
      co_await s.invitations.list(*ctx.principal, request.value().limit, std::move(request.value().after)),
      [](const auto& page) { return page_json(page); });
}

HandlerResult delete_invitation(const Services& s, Context& ctx) {
  co_return reply_no_content(ctx, co_await s.invitations.remove(*ctx.principal, ctx.params.get("id"), meta_of(ctx)));
}

}  // namespace chatd::api
