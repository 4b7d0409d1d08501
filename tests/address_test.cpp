#include "tokenguard/address.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "support/allocation_counter.hpp"

namespace tokenguard {
namespace {

ip_address addr(std::string_view text) {
  const auto a = ip_address::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(ip_address{});
}

ip_network net(std::string_view text) {
  auto n = ip_network::parse(text);
  EXPECT_TRUE(n.ok()) << text << ": " << (n.ok() ? "" : n.message());
  return n.ok() ? n.value() : ip_network::host(ip_address{});
}

ip_allow_list list(std::string_view text) {
  auto l = ip_allow_list::parse(text);
  EXPECT_TRUE(l.ok()) << text << ": " << (l.ok() ? "" : l.message());
  return l.ok() ? std::move(l).value() : ip_allow_list{};
}

std::string list_error(std::string_view text) {
  auto l = ip_allow_list::parse(text);
  EXPECT_FALSE(l.ok()) << text;
  return l.ok() ? std::string() : l.message();
}

std::string network_error(std::string_view text) {
  auto n = ip_network::parse(text);
  EXPECT_FALSE(n.ok()) << text;
  return n.ok() ? std::string() : n.message();
}

// --- ip_address ------------------------------------------------------------

TEST(IpAddress, DefaultIsV4Zero) {
  const ip_address a;
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.to_string(), "0.0.0.0");
  EXPECT_EQ(a, ip_address::v4(0));
}

TEST(IpAddress, ParsesV4) {
  const ip_address a = addr("192.0.2.1");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a.v4_value(), 0xc0000201u);
  EXPECT_EQ(a, ip_address::v4(0xc0000201u));
  EXPECT_EQ(a.to_string(), "192.0.2.1");
  EXPECT_EQ(addr("255.255.255.255").to_string(), "255.255.255.255");
  EXPECT_EQ(addr("0.0.0.0").v4_value(), 0u);
  EXPECT_EQ(addr("10.0.0.1").to_string(), "10.0.0.1");
}

TEST(IpAddress, ParsesV6AndPrintsRfc5952) {
  const ip_address a = addr("2001:0DB8:0000:0000:0000:0000:0000:0001");
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.v4_value(), 0u);
  EXPECT_EQ(a.to_string(), "2001:db8::1");
  EXPECT_EQ(a, addr("2001:db8::1"));
  EXPECT_EQ(addr("::").to_string(), "::");
  EXPECT_EQ(addr("::1").to_string(), "::1");
  EXPECT_EQ(addr("1::").to_string(), "1::");
  EXPECT_EQ(addr("2001:db8:0:1:1:1:1:1").to_string(), "2001:db8:0:1:1:1:1:1");  // one zero: kept
  EXPECT_EQ(addr("2001:0:0:1:0:0:0:1").to_string(), "2001:0:0:1::1");           // longest run
  EXPECT_EQ(addr("2001:db8:0:0:1:0:0:1").to_string(), "2001:db8::1:0:0:1");  // first of equal runs
  EXPECT_EQ(addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").to_string(),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(addr("1:2:3:4:5:6:7::").to_string(), "1:2:3:4:5:6:7:0");
  // v4-compatible (deprecated) is an ordinary IPv6 address, printed in hex.
  EXPECT_EQ(addr("::1.2.3.4").to_string(), "::102:304");
  EXPECT_FALSE(addr("::1.2.3.4").is_v4());
}

TEST(IpAddress, CompressedAndFullV6AreEqual) {
  EXPECT_EQ(addr("fe80::1"), addr("fe80:0:0:0:0:0:0:1"));
  EXPECT_EQ(addr("::"), addr("0:0:0:0:0:0:0:0"));
  EXPECT_NE(addr("::1"), addr("::2"));
  EXPECT_NE(addr("::"), addr("0.0.0.0"));  // different families
}

TEST(IpAddress, MappedV6IsStoredAsV4) {
  const ip_address a = addr("::ffff:192.0.2.1");
  EXPECT_TRUE(a.is_v4());
  EXPECT_EQ(a, addr("192.0.2.1"));
  EXPECT_EQ(a.to_string(), "192.0.2.1");
  EXPECT_EQ(addr("::ffff:c000:201"), addr("192.0.2.1"));
  EXPECT_EQ(addr("0:0:0:0:0:FFFF:192.0.2.1"), addr("192.0.2.1"));

  std::array<std::uint8_t, 16> bytes{};
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes[12] = 192;
  bytes[15] = 1;
  EXPECT_EQ(ip_address::v6(bytes), ip_address::v4(0xc0000001u));
  EXPECT_EQ(ip_address::v4(0xc0000001u).to_v6_bytes(), bytes);

  bytes[10] = 0;  // ::c000:1 is not mapped
  EXPECT_FALSE(ip_address::v6(bytes).is_v4());
  EXPECT_EQ(ip_address::v6(bytes).to_v6_bytes(), bytes);
}

TEST(IpAddress, FromAsio) {
  EXPECT_EQ(ip_address::from(boost::asio::ip::make_address("203.0.113.9")), addr("203.0.113.9"));
  EXPECT_EQ(ip_address::from(boost::asio::ip::make_address("2001:db8::9")), addr("2001:db8::9"));
  EXPECT_EQ(ip_address::from(boost::asio::ip::make_address("::ffff:203.0.113.9")),
            addr("203.0.113.9"));
}

TEST(IpAddress, RejectsAnythingButABareAddress) {
  for (const char* bad : {"",
                          " ",
                          "300.1.1.1",
                          "256.0.0.0",
                          "1.2.3",
                          "1.2.3.4.",
                          "1.2.3.4.5",
                          "abc",
                          "1.2.3.4:80",
                          "[::1]",
                          "[::1]:80",
                          "fe80::1%eth0",
                          "fe80::1%1",
                          "010.0.0.1",
                          "1.2.3.04",
                          "::ffff:010.0.0.1",
                          "0x1.2.3.4",
                          " 1.2.3.4",
                          "1.2.3.4 ",
                          "1::2::3",
                          "12345::",
                          "1:2:3:4:5:6:7:8:9",
                          "1:2:3:4:5:6:7::8",
                          "10.0.0.0/8",
                          "::g",
                          "unknown",
                          "1.2.3.4\n",
                          "0000:0000:0000:0000:0000:0000:0000:0000:0"}) {
    EXPECT_FALSE(ip_address::parse(bad).has_value()) << '"' << bad << '"';
  }
  // An embedded NUL must not truncate the text.
  EXPECT_FALSE(ip_address::parse(std::string_view("1.2.3.4\0junk", 12)).has_value());
  // Longest valid text, and one character more.
  EXPECT_TRUE(ip_address::parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255").has_value());
  EXPECT_FALSE(ip_address::parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555").has_value());
}

TEST(IpAddress, ParseAndFormatDoNotAllocate) {
  TOKENGUARD_REQUIRE_ALLOCATION_COUNTING();
  const long before = tokenguard::testing::allocations_on_this_thread();
  int ok = 0;
  for (const char* text : {"192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "garbage",
                           "fe80::1%eth0", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"}) {
    const auto a = ip_address::parse(text);
    if (a) {
      std::array<char, ip_address::max_text_size> buf{};
      ok += a->format(buf) > 0 ? 1 : 0;
    }
  }
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(tokenguard::testing::allocations_on_this_thread(), before);
  // Control: the counter does see allocations (a long to_string result).
  const std::string text = addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe").to_string();
  EXPECT_GT(tokenguard::testing::allocations_on_this_thread(), before);
}

// --- ip_network ------------------------------------------------------------

TEST(IpNetwork, BareAddressIsAHost) {
  const ip_network h4 = net("192.0.2.1");
  EXPECT_TRUE(h4.is_v4());
  EXPECT_EQ(h4.prefix_length(), 32u);
  EXPECT_TRUE(h4.contains(addr("192.0.2.1")));
  EXPECT_FALSE(h4.contains(addr("192.0.2.2")));
  EXPECT_EQ(h4.to_string(), "192.0.2.1");
  EXPECT_EQ(h4, ip_network::host(addr("192.0.2.1")));

  const ip_network h6 = net("::1");
  EXPECT_FALSE(h6.is_v4());
  EXPECT_EQ(h6.prefix_length(), 128u);
  EXPECT_TRUE(h6.contains(addr("::1")));
  EXPECT_FALSE(h6.contains(addr("::2")));
  EXPECT_FALSE(h6.contains(addr("::")));
  EXPECT_EQ(h6.to_string(), "::1");
}

TEST(IpNetwork, V4Edges) {
  const ip_network n = net("10.0.0.0/8");
  EXPECT_EQ(n.to_string(), "10.0.0.0/8");
  EXPECT_TRUE(n.contains(addr("10.0.0.0")));
  EXPECT_TRUE(n.contains(addr("10.255.255.255")));
  EXPECT_FALSE(n.contains(addr("9.255.255.255")));
  EXPECT_FALSE(n.contains(addr("11.0.0.0")));

  const ip_network n32 = net("192.0.2.7/32");
  EXPECT_EQ(n32.to_string(), "192.0.2.7");
  EXPECT_TRUE(n32.contains(addr("192.0.2.7")));
  EXPECT_FALSE(n32.contains(addr("192.0.2.6")));
  EXPECT_FALSE(n32.contains(addr("192.0.2.8")));

  const ip_network n31 = net("192.0.2.6/31");
  EXPECT_TRUE(n31.contains(addr("192.0.2.6")));
  EXPECT_TRUE(n31.contains(addr("192.0.2.7")));
  EXPECT_FALSE(n31.contains(addr("192.0.2.5")));
  EXPECT_FALSE(n31.contains(addr("192.0.2.8")));

  const ip_network n1 = net("128.0.0.0/1");
  EXPECT_TRUE(n1.contains(addr("128.0.0.0")));
  EXPECT_TRUE(n1.contains(addr("255.255.255.255")));
  EXPECT_FALSE(n1.contains(addr("127.255.255.255")));

  const ip_network all = net("0.0.0.0/0");
  EXPECT_EQ(all.to_string(), "0.0.0.0/0");
  EXPECT_TRUE(all.contains(addr("0.0.0.0")));
  EXPECT_TRUE(all.contains(addr("255.255.255.255")));
  EXPECT_TRUE(all.contains(addr("::ffff:1.2.3.4")));
  EXPECT_FALSE(all.contains(addr("::")));  // IPv6 is never in an IPv4 network
  EXPECT_FALSE(all.contains(addr("2001:db8::1")));
}

TEST(IpNetwork, V6Edges) {
  const ip_network n = net("2001:db8::/32");
  EXPECT_EQ(n.to_string(), "2001:db8::/32");
  EXPECT_TRUE(n.contains(addr("2001:db8::")));
  EXPECT_TRUE(n.contains(addr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(n.contains(addr("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(n.contains(addr("2001:db9::")));

  const ip_network n64 = net("2001:db8:1:2::/64");
  EXPECT_TRUE(n64.contains(addr("2001:db8:1:2::")));
  EXPECT_TRUE(n64.contains(addr("2001:db8:1:2:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(n64.contains(addr("2001:db8:1:1:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(n64.contains(addr("2001:db8:1:3::")));

  const ip_network n65 = net("2001:db8::8000:0:0:0/65");
  EXPECT_TRUE(n65.contains(addr("2001:db8::8000:0:0:0")));
  EXPECT_TRUE(n65.contains(addr("2001:db8::ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(n65.contains(addr("2001:db8::7fff:ffff:ffff:ffff")));

  const ip_network n127 = net("2001:db8::/127");
  EXPECT_TRUE(n127.contains(addr("2001:db8::")));
  EXPECT_TRUE(n127.contains(addr("2001:db8::1")));
  EXPECT_FALSE(n127.contains(addr("2001:db8::2")));
  EXPECT_FALSE(n127.contains(addr("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")));

  const ip_network n128 = net("2001:db8::5/128");
  EXPECT_EQ(n128.to_string(), "2001:db8::5");
  EXPECT_TRUE(n128.contains(addr("2001:db8::5")));
  EXPECT_FALSE(n128.contains(addr("2001:db8::4")));
  EXPECT_FALSE(n128.contains(addr("2001:db8::6")));

  const ip_network all = net("::/0");
  EXPECT_EQ(all.to_string(), "::/0");
  EXPECT_TRUE(all.contains(addr("::")));
  EXPECT_TRUE(all.contains(addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(all.contains(addr("1.2.3.4")));         // IPv4 is never in an IPv6 network
  EXPECT_FALSE(all.contains(addr("::ffff:1.2.3.4")));  // nor is a mapped address
}

TEST(IpNetwork, MappedNetworkIsV4) {
  const ip_network n = net("::ffff:192.0.2.0/120");
  EXPECT_TRUE(n.is_v4());
  EXPECT_EQ(n.prefix_length(), 24u);
  EXPECT_EQ(n.to_string(), "192.0.2.0/24");
  EXPECT_EQ(n, net("192.0.2.0/24"));
  EXPECT_TRUE(n.contains(addr("192.0.2.0")));
  EXPECT_TRUE(n.contains(addr("192.0.2.255")));
  EXPECT_TRUE(n.contains(addr("::ffff:192.0.2.77")));
  EXPECT_FALSE(n.contains(addr("192.0.3.0")));
  EXPECT_FALSE(n.contains(addr("192.0.1.255")));

  EXPECT_EQ(net("::ffff:10.0.0.0/104"), net("10.0.0.0/8"));
  EXPECT_EQ(net("::ffff:0:0/96"), net("0.0.0.0/0"));
  EXPECT_EQ(net("::ffff:192.0.2.1"), net("192.0.2.1/32"));
  EXPECT_EQ(net("::ffff:192.0.2.1/128"), net("192.0.2.1"));
}

TEST(IpNetwork, InvalidEntriesAreNamedWithTheReason) {
  EXPECT_EQ(network_error("300.1.1.1"),
            "invalid network \"300.1.1.1\": not an IPv4 or IPv6 address");
  EXPECT_EQ(network_error("abc"), "invalid network \"abc\": not an IPv4 or IPv6 address");
  EXPECT_EQ(network_error("10.0.0.0/33"),
            "invalid network \"10.0.0.0/33\": prefix length 33 is out of range 0..32 for IPv4");
  EXPECT_EQ(network_error("::/129"),
            "invalid network \"::/129\": prefix length 129 is out of range 0..128 for IPv6");
  EXPECT_EQ(network_error("::ffff:1.2.3.4/129"),
            "invalid network \"::ffff:1.2.3.4/129\": prefix length 129 is out of range 0..128 "
            "for IPv6");
  EXPECT_EQ(network_error("10.0.0.0/99999999999999999999"),
            "invalid network \"10.0.0.0/99999999999999999999\": prefix length 99999999999999999999 "
            "is out of range 0..32 for IPv4");
  EXPECT_EQ(network_error("1.2.3.4/"),
            "invalid network \"1.2.3.4/\": no prefix length after \"/\"");
  EXPECT_EQ(network_error("/8"), "invalid network \"/8\": no address before \"/\"");
  EXPECT_EQ(network_error("1.2.3.4/x"),
            "invalid network \"1.2.3.4/x\": prefix length \"x\" is not a decimal number");
  EXPECT_EQ(network_error("1.2.3.4/8/8"),
            "invalid network \"1.2.3.4/8/8\": prefix length \"8/8\" is not a decimal number");
  EXPECT_EQ(network_error("1.2.3.4/-1"),
            "invalid network \"1.2.3.4/-1\": prefix length \"-1\" is not a decimal number");
  EXPECT_EQ(network_error("10.0.0.0/08"),
            "invalid network \"10.0.0.0/08\": prefix length \"08\" has a leading zero");
  EXPECT_EQ(network_error("1.2.3.4:80"),
            "invalid network \"1.2.3.4:80\": ports are not allowed; write the bare address");
  EXPECT_EQ(network_error("[::1]"),
            "invalid network \"[::1]\": brackets are not allowed; write the bare address");
  EXPECT_EQ(network_error("[::1]:443"),
            "invalid network \"[::1]:443\": brackets are not allowed; write the bare address");
  EXPECT_EQ(network_error("fe80::1%eth0"),
            "invalid network \"fe80::1%eth0\": zone ids (\"%...\") are not allowed; write the "
            "bare address");
  EXPECT_EQ(network_error("fe80::%eth0/64"),
            "invalid network \"fe80::%eth0/64\": zone ids (\"%...\") are not allowed; write the "
            "bare address");
  EXPECT_EQ(network_error("010.0.0.1"),
            "invalid network \"010.0.0.1\": IPv4 parts with leading zeros are not allowed (octal "
            "or decimal is ambiguous)");
  EXPECT_EQ(network_error(""), "invalid network \"\": empty");
  // Untrusted text is quoted safely and cut short.
  EXPECT_EQ(network_error("a\"b\n"),
            "invalid network \"a\\\"b\\x0a\": not an IPv4 or IPv6 address");
  const std::string long_text(200, 'x');
  EXPECT_EQ(network_error(long_text),
            "invalid network \"" + std::string(64, 'x') + "...\": not an IPv4 or IPv6 address");
}

TEST(IpNetwork, HostBitsBelowThePrefixAreAnError) {
  EXPECT_EQ(network_error("10.0.0.1/8"),
            "invalid network \"10.0.0.1/8\": host bits are set below the /8 prefix (the network "
            "would be 10.0.0.0/8)");
  EXPECT_EQ(network_error("2001:db8::1/64"),
            "invalid network \"2001:db8::1/64\": host bits are set below the /64 prefix (the "
            "network would be 2001:db8::/64)");
  EXPECT_EQ(network_error("2001:db8::1/127"),
            "invalid network \"2001:db8::1/127\": host bits are set below the /127 prefix (the "
            "network would be 2001:db8::/127)");
  EXPECT_EQ(network_error("::ffff:10.0.0.1/104"),
            "invalid network \"::ffff:10.0.0.1/104\": host bits are set below the /104 prefix "
            "(the network would be 10.0.0.0/8)");
  // A mapped address under a prefix shorter than /96 reaches outside the mapped range.
  EXPECT_FALSE(ip_network::parse("::ffff:0:0/80").ok());
  EXPECT_FALSE(ip_network::parse("1.2.3.4/0").ok());
  EXPECT_TRUE(ip_network::parse("1.2.3.4/30").ok());
}

// --- ip_allow_list ---------------------------------------------------------

TEST(IpAllowList, EmptyOrBlankAllowsAny) {
  for (const char* text : {"", " ", " \t\r\n "}) {
    const ip_allow_list l = list(text);
    EXPECT_TRUE(l.allows_any()) << '"' << text << '"';
    EXPECT_TRUE(l.entries().empty());
    EXPECT_TRUE(l.contains(addr("203.0.113.9")));
    EXPECT_TRUE(l.contains(addr("2001:db8::1")));
  }
  const ip_allow_list d;
  EXPECT_TRUE(d.allows_any());
  EXPECT_TRUE(d.contains(addr("1.2.3.4")));
}

TEST(IpAllowList, SingleAddressFromTheSeed) {
  const ip_allow_list l = list("192.168.1.1");
  EXPECT_FALSE(l.allows_any());
  ASSERT_EQ(l.entries().size(), 1u);
  EXPECT_TRUE(l.contains(addr("192.168.1.1")));
  EXPECT_TRUE(l.contains(addr("::ffff:192.168.1.1")));
  EXPECT_FALSE(l.contains(addr("192.168.1.2")));
  EXPECT_FALSE(l.contains(addr("::192.168.1.1")));  // v4-compatible is not mapped
}

TEST(IpAllowList, Separators) {
  const std::vector<std::string> expected = {"10.0.0.0/8", "192.0.2.1", "2001:db8::/32"};
  for (const char* text : {
           "10.0.0.0/8,192.0.2.1,2001:db8::/32",
           "10.0.0.0/8, 192.0.2.1, 2001:db8::/32",
           "10.0.0.0/8 192.0.2.1 2001:db8::/32",
           "10.0.0.0/8\t192.0.2.1\t2001:db8::/32",
           "10.0.0.0/8\n192.0.2.1\r\n2001:db8::/32\n",
           " 10.0.0.0/8 ,\t192.0.2.1\n,  2001:db8::/32 , ",
           "10.0.0.0/8,,192.0.2.1,2001:db8::/32,",
           ",10.0.0.0/8 , , 192.0.2.1 2001:db8::/32",
       }) {
    const ip_allow_list l = list(text);
    std::vector<std::string> got;
    for (const ip_network& n : l.entries()) got.push_back(n.to_string());
    EXPECT_EQ(got, expected) << '"' << text << '"';
    EXPECT_TRUE(l.contains(addr("10.1.2.3")));
    EXPECT_TRUE(l.contains(addr("192.0.2.1")));
    EXPECT_TRUE(l.contains(addr("2001:db8:1::1")));
    EXPECT_FALSE(l.contains(addr("192.0.2.2")));
    EXPECT_FALSE(l.contains(addr("11.0.0.0")));
    EXPECT_FALSE(l.contains(addr("2001:db9::")));
  }
}

TEST(IpAllowList, MappedOnEitherSide) {
  const ip_allow_list mapped_entry = list("::ffff:192.0.2.1");
  EXPECT_TRUE(mapped_entry.contains(addr("192.0.2.1")));
  EXPECT_TRUE(mapped_entry.contains(addr("::ffff:192.0.2.1")));
  EXPECT_FALSE(mapped_entry.contains(addr("192.0.2.2")));

  const ip_allow_list plain_entry = list("192.0.2.1");
  EXPECT_TRUE(plain_entry.contains(addr("::ffff:192.0.2.1")));
  EXPECT_TRUE(plain_entry.contains(addr("::FFFF:C000:201")));

  const ip_allow_list mapped_network = list("::ffff:192.0.2.0/120");
  EXPECT_TRUE(mapped_network.contains(addr("192.0.2.200")));
  EXPECT_TRUE(mapped_network.contains(addr("::ffff:192.0.2.200")));
  EXPECT_FALSE(mapped_network.contains(addr("192.0.3.1")));
}

TEST(IpAllowList, ErrorNamesTheEntryAndItsPosition) {
  EXPECT_EQ(list_error("192.0.2.1, 300.1.1.1"),
            "ip entry 2 \"300.1.1.1\": not an IPv4 or IPv6 address");
  EXPECT_EQ(list_error("10.0.0.0/33"),
            "ip entry 1 \"10.0.0.0/33\": prefix length 33 is out of range 0..32 for IPv4");
  EXPECT_EQ(list_error("::1,\n::2 \t ::/129"),
            "ip entry 3 \"::/129\": prefix length 129 is out of range 0..128 for IPv6");
  EXPECT_EQ(list_error(",,1.2.3.4/"), "ip entry 1 \"1.2.3.4/\": no prefix length after \"/\"");
  EXPECT_EQ(list_error("1.2.3.4 /8"), "ip entry 2 \"/8\": no address before \"/\"");
  EXPECT_EQ(list_error("1.1.1.1 abc"), "ip entry 2 \"abc\": not an IPv4 or IPv6 address");
  EXPECT_EQ(list_error("1.2.3.4:80"),
            "ip entry 1 \"1.2.3.4:80\": ports are not allowed; write the bare address");
  EXPECT_EQ(list_error("[::1]"),
            "ip entry 1 \"[::1]\": brackets are not allowed; write the bare address");
  EXPECT_EQ(list_error("fe80::1%eth0"),
            "ip entry 1 \"fe80::1%eth0\": zone ids (\"%...\") are not allowed; write the bare "
            "address");
  EXPECT_EQ(list_error("010.0.0.1"),
            "ip entry 1 \"010.0.0.1\": IPv4 parts with leading zeros are not allowed (octal or "
            "decimal is ambiguous)");
  EXPECT_EQ(list_error("10.0.0.1/8"),
            "ip entry 1 \"10.0.0.1/8\": host bits are set below the /8 prefix (the network would "
            "be 10.0.0.0/8)");
  // Non-ASCII white space is not a separator.
  EXPECT_EQ(list_error("1.2.3.4\xc2\xa0"
                       "5.6.7.8"),
            "ip entry 1 \"1.2.3.4\\xc2\\xa05.6.7.8\": not an IPv4 or IPv6 address");
}

TEST(IpAllowList, CommasWithoutEntriesAreAnError) {
  EXPECT_EQ(list_error(","),
            "ip list \",\" has separators but no entries (leave it empty to allow any address)");
  EXPECT_FALSE(ip_allow_list::parse(" , ,\t").ok());
}

TEST(IpAllowList, ContainsDoesNotAllocate) {
  TOKENGUARD_REQUIRE_ALLOCATION_COUNTING();
  const ip_allow_list l = list("10.0.0.0/8, 2001:db8::/32, 192.0.2.1");
  const ip_address a = addr("192.0.2.1");
  const long before = tokenguard::testing::allocations_on_this_thread();
  EXPECT_TRUE(l.contains(a));
  EXPECT_EQ(tokenguard::testing::allocations_on_this_thread(), before);
}

// --- client_address_resolver -----------------------------------------------

std::vector<ip_network> networks(std::initializer_list<const char*> texts) {
  std::vector<ip_network> out;
  for (const char* t : texts) out.push_back(net(t));
  return out;
}

std::string resolved(const client_address_resolver& r, std::string_view peer,
                     std::string_view xff) {
  const auto a = r.resolve(addr(peer), xff);
  return a ? a->to_string() : "none";
}

TEST(ClientAddress, NoTrustedProxiesIgnoresXff) {
  const client_address_resolver r;
  EXPECT_EQ(resolved(r, "198.51.100.7", ""), "198.51.100.7");
  // A client that forges its own header does not change its address.
  EXPECT_EQ(resolved(r, "198.51.100.7", "192.168.1.1"), "198.51.100.7");
  EXPECT_EQ(resolved(r, "198.51.100.7", "garbage"), "198.51.100.7");
  EXPECT_EQ(resolved(r, "2001:db8::7", "10.0.0.1"), "2001:db8::7");
}

TEST(ClientAddress, UntrustedPeerIgnoresXff) {
  const client_address_resolver r(networks({"10.0.0.0/8"}));
  EXPECT_EQ(resolved(r, "198.51.100.7", "10.1.1.1"), "198.51.100.7");
  EXPECT_EQ(resolved(r, "198.51.100.7", "nonsense"), "198.51.100.7");
}

TEST(ClientAddress, TrustedPeerWithoutXffIsTheClient) {
  const client_address_resolver r(networks({"10.0.0.0/8"}));
  EXPECT_EQ(resolved(r, "10.0.0.2", ""), "10.0.0.2");
  EXPECT_EQ(resolved(r, "10.0.0.2", "   "), "10.0.0.2");
  EXPECT_EQ(resolved(r, "10.0.0.2", " \t "), "10.0.0.2");
}

TEST(ClientAddress, TrustedPeerTakesTheRightmostUntrustedEntry) {
  const client_address_resolver r(networks({"10.0.0.0/8", "2001:db8:ffff::/48"}));
  EXPECT_EQ(resolved(r, "10.0.0.2", "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(resolved(r, "10.0.0.2", "  203.0.113.9\t"), "203.0.113.9");
  EXPECT_EQ(resolved(r, "10.0.0.2", "203.0.113.9, 10.0.0.5"), "203.0.113.9");
  EXPECT_EQ(resolved(r, "10.0.0.2", "203.0.113.9,10.0.0.5,10.9.9.9"), "203.0.113.9");
  EXPECT_EQ(resolved(r, "10.0.0.2", "198.51.100.1, 203.0.113.9, 10.0.0.5"), "203.0.113.9");
  // Entries left of the first untrusted one are whatever the client wrote: ignored.
  EXPECT_EQ(resolved(r, "10.0.0.2", "1.1.1.1, 203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(resolved(r, "10.0.0.2", "garbage, 203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(resolved(r, "10.0.0.2", ", 203.0.113.9"), "203.0.113.9");
}

TEST(ClientAddress, AllTrustedGivesTheLeftmost) {
  const client_address_resolver r(networks({"10.0.0.0/8"}));
  EXPECT_EQ(resolved(r, "10.0.0.2", "10.0.0.7"), "10.0.0.7");
  EXPECT_EQ(resolved(r, "10.0.0.2", "10.0.0.7, 10.0.0.8, 10.0.0.9"), "10.0.0.7");
}

TEST(ClientAddress, NonAddressEndsTheWalkWithNoClient) {
  const client_address_resolver r(networks({"10.0.0.0/8"}));
  EXPECT_EQ(resolved(r, "10.0.0.2", "garbage"), "none");
  EXPECT_EQ(resolved(r, "10.0.0.2", "203.0.113.9, garbage"), "none");
  EXPECT_EQ(resolved(r, "10.0.0.2", "203.0.113.9, unknown, 10.0.0.5"), "none");
  EXPECT_EQ(resolved(r, "10.0.0.2", "203.0.113.9:443"), "none");
  EXPECT_EQ(resolved(r, "10.0.0.2", "[2001:db8::1]"), "none");
  EXPECT_EQ(resolved(r, "10.0.0.2", "300.1.1.1"), "none");
  // Empty entries are not addresses.
  EXPECT_EQ(resolved(r, "10.0.0.2", "203.0.113.9,"), "none");
  EXPECT_EQ(resolved(r, "10.0.0.2", "203.0.113.9, ,10.0.0.5"), "none");
  EXPECT_EQ(resolved(r, "10.0.0.2", ","), "none");
  EXPECT_EQ(resolved(r, "10.0.0.2", ",10.0.0.5"), "none");
  EXPECT_EQ(resolved(r, "10.0.0.2", "10.0.0.5 10.0.0.6"), "none");  // spaces do not separate
}

TEST(ClientAddress, Ipv6Entries) {
  const client_address_resolver r(networks({"2001:db8:ffff::/48", "10.0.0.0/8"}));
  EXPECT_EQ(resolved(r, "2001:db8:ffff::1", "2001:DB8:0:0::42"), "2001:db8::42");
  EXPECT_EQ(resolved(r, "2001:db8:ffff::1", "2001:db8::42, 2001:db8:ffff::9"), "2001:db8::42");
  EXPECT_EQ(resolved(r, "10.0.0.1", "2001:db8::42, 10.0.0.3, 2001:db8:ffff::9"), "2001:db8::42");
  EXPECT_EQ(resolved(r, "2001:db8:ffff::1", "fe80::1%eth0"), "none");
}

TEST(ClientAddress, MappedAddressesCompareAsV4) {
  const client_address_resolver r(networks({"::ffff:10.0.0.0/104"}));
  // The peer seen on a dual-stack socket, and a trusted proxy written mapped.
  EXPECT_EQ(resolved(r, "::ffff:10.0.0.2", "::ffff:203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(resolved(r, "10.0.0.2", "203.0.113.9, ::ffff:10.0.0.5"), "203.0.113.9");
  EXPECT_EQ(resolved(r, "10.0.0.2", "::ffff:10.0.0.7, 10.0.0.5"), "10.0.0.7");
  const client_address_resolver plain(networks({"10.0.0.0/8"}));
  EXPECT_EQ(resolved(plain, "::ffff:10.0.0.2", "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(resolved(plain, "::ffff:203.0.113.1", "203.0.113.9"), "203.0.113.1");
}

TEST(ClientAddress, ResolveDoesNotAllocate) {
  TOKENGUARD_REQUIRE_ALLOCATION_COUNTING();
  const client_address_resolver r(networks({"10.0.0.0/8", "2001:db8:ffff::/48"}));
  const ip_address peer = addr("10.0.0.2");
  const long before = tokenguard::testing::allocations_on_this_thread();
  const auto a = r.resolve(peer, "198.51.100.1, 2001:db8::42, 10.0.0.5");
  const auto b = r.resolve(peer, "x, 10.0.0.5");
  EXPECT_EQ(tokenguard::testing::allocations_on_this_thread(), before);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, ip_address::parse("2001:db8::42"));
  EXPECT_FALSE(b.has_value());
}

}  // namespace
}  // namespace tokenguard
