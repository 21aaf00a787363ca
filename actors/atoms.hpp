#pragma once

// Every atom and every message type the actors exchange, in one place.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/type_id.hpp>

CAF_BEGIN_TYPE_ID_BLOCK(wk, caf::first_custom_type_id)
CAF_ADD_ATOM(wk, wk::actors, tick_atom, "tick")
CAF_ADD_ATOM(wk, wk::actors, fetched_atom, "fetched")
CAF_ADD_ATOM(wk, wk::actors, flush_atom, "flush")
CAF_ADD_ATOM(wk, wk::actors, status_atom, "status")
CAF_ADD_ATOM(wk, wk::actors, list_atom, "list")
CAF_ADD_ATOM(wk, wk::actors, show_atom, "show")
CAF_ADD_ATOM(wk, wk::actors, upsert_atom, "upsert")
CAF_ADD_ATOM(wk, wk::actors, remove_atom, "remove")
CAF_ADD_ATOM(wk, wk::actors, reload_atom, "reload")
CAF_ADD_ATOM(wk, wk::actors, record_atom, "record")
CAF_ADD_ATOM(wk, wk::actors, push_atom, "push")
CAF_ADD_ATOM(wk, wk::actors, restart_atom, "restart")
CAF_ADD_ATOM(wk, wk::actors, shutdown_atom, "shutdown")
CAF_ADD_ATOM(wk, wk::actors, load_atom, "load")
CAF_ADD_ATOM(wk, wk::actors, query_atom, "query")
CAF_ADD_ATOM(wk, wk::actors, landed_atom, "landed")
CAF_ADD_ATOM(wk, wk::actors, evaluate_atom, "evaluate")
CAF_ADD_ATOM(wk, wk::actors, command_atom, "command")
CAF_ADD_ATOM(wk, wk::actors, wake_atom, "wake")
CAF_ADD_ATOM(wk, wk::actors, deliver_atom, "deliver")
CAF_ADD_ATOM(wk, wk::actors, delivered_atom, "delivered")
CAF_ADD_ATOM(wk, wk::actors, escalate_atom, "escalate")
CAF_ADD_ATOM(wk, wk::actors, resolved_atom, "resolved")
CAF_ADD_ATOM(wk, wk::actors, silence_atom, "silence")
CAF_ADD_ATOM(wk, wk::actors, expire_atom, "expire")
CAF_ADD_ATOM(wk, wk::actors, audit_atom, "audit")
CAF_ADD_ATOM(wk, wk::actors, alert_atom, "alert")
CAF_ADD_ATOM(wk, wk::actors, context_atom, "context")
CAF_ADD_ATOM(wk, wk::actors, open_atom, "open")
CAF_ADD_ATOM(wk, wk::actors, outbox_atom, "outbox")
CAF_END_TYPE_ID_BLOCK(wk)
