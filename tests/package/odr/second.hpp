// What the second translation unit offers the first.
#ifndef TOKENGUARD_TESTS_PACKAGE_ODR_SECOND_HPP
#define TOKENGUARD_TESTS_PACKAGE_ODR_SECOND_HPP

#include <memory>
#include <tokenguard/authorizer.hpp>
#include <tokenguard/result.hpp>
#include <tokenguard/store.hpp>
#include <tokenguard/usage.hpp>

tokenguard::result<std::shared_ptr<const tokenguard::store>> compile_in_second(
    tokenguard::usage_store& usage);

tokenguard::decision decide_in_second(const tokenguard::authorizer& auth,
                                      const tokenguard::request& req, std::int64_t now_ms);

#endif  // TOKENGUARD_TESTS_PACKAGE_ODR_SECOND_HPP
