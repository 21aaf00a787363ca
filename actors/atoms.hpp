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
CAF_END_TYPE_ID_BLOCK(wk)
