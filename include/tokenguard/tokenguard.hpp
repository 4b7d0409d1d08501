#ifndef TOKENGUARD_TOKENGUARD_HPP
#define TOKENGUARD_TOKENGUARD_HPP

/// Umbrella header: everything an embedding gateway needs.

#include "tokenguard/address.hpp"
#include "tokenguard/authorizer.hpp"
#include "tokenguard/credentials.hpp"
#include "tokenguard/decision.hpp"
#include "tokenguard/json.hpp"
#include "tokenguard/limits.hpp"
#include "tokenguard/load.hpp"
#include "tokenguard/reason.hpp"
#include "tokenguard/request.hpp"
#include "tokenguard/result.hpp"
#include "tokenguard/rules.hpp"
#include "tokenguard/store.hpp"
#include "tokenguard/token.hpp"
#include "tokenguard/usage.hpp"
#include "tokenguard/version.hpp"

#endif  // TOKENGUARD_TOKENGUARD_HPP
