// Reading a store file (detail::read_file_if_exists): the text whole, with
// simdjson's zeroed padding past its end; nullopt for a missing file; a clear
// refusal, naming the file, of one over the limit or one that cannot be read.

#include "tokenguard/detail/durable_file.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

namespace tokenguard::detail {
namespace {

class ReadFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/tokenguard-read-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::remove(file_.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string write(const std::string& text) {
    file_ = dir_ + "/store.json";
    std::ofstream out(file_, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    return file_;
  }
  static void expect_padded(const simdjson::padded_string& text) {
    const char* end = text.data() + text.size();
    for (std::size_t i = 0; i < simdjson::SIMDJSON_PADDING; ++i) {
      ASSERT_EQ(end[i], '\0') << "padding byte " << i;
    }
  }
  std::string dir_;
  std::string file_;
};

TEST_F(ReadFileTest, ReadsASmallFileWhole) {
  const std::string text = R"({"tokens":[]})";
  auto read = read_file_if_exists(write(text), 1 << 20);
  ASSERT_TRUE(read) << read.message();
  ASSERT_TRUE(read.value().has_value());
  EXPECT_EQ(std::string_view(*read.value()), text);
  expect_padded(*read.value());
}

TEST_F(ReadFileTest, ReadsALargeFileWholeThroughThePopulatedBuffer) {
  // Over the 1 MiB from which the buffer is populated before the read, and
  // not a multiple of the page size, so that both ends are partial pages.
  std::string text;
  text.reserve((std::size_t{3} << 20) + 4097);
  for (std::size_t i = 0; text.size() < (std::size_t{3} << 20) + 4097; ++i) {
    text += std::to_string(i);
    text.push_back(i % 7 == 0 ? '\n' : ',');
  }
  auto read = read_file_if_exists(write(text), std::size_t{16} << 20);
  ASSERT_TRUE(read) << read.message();
  ASSERT_TRUE(read.value().has_value());
  EXPECT_EQ(read.value()->size(), text.size());
  EXPECT_TRUE(std::string_view(*read.value()) == text);
  expect_padded(*read.value());
}

TEST_F(ReadFileTest, ReadsAnEmptyFileAsEmptyText) {
  auto read = read_file_if_exists(write(""), 1 << 20);
  ASSERT_TRUE(read) << read.message();
  ASSERT_TRUE(read.value().has_value());
  EXPECT_EQ(read.value()->size(), 0U);
  expect_padded(*read.value());
}

TEST_F(ReadFileTest, AMissingFileIsNotAnError) {
  auto read = read_file_if_exists(dir_ + "/absent.json", 1 << 20);
  ASSERT_TRUE(read) << read.message();
  EXPECT_FALSE(read.value().has_value());
}

TEST_F(ReadFileTest, RefusesAFileOverTheLimitBeforeReadingIt) {
  const std::string path = write(std::string(1000, 'x'));
  auto read = read_file_if_exists(path, 999);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.message(),
            "'" + path + "' is 1000 bytes, over the limit of 999 (max_store_bytes)");
  EXPECT_TRUE(read_file_if_exists(path, 1000)) << "the limit itself is allowed";
}

TEST_F(ReadFileTest, SaysWhichFileCannotBeRead) {
  auto read = read_file_if_exists(dir_, 1 << 20);  // a directory: open works, read does not
  ASSERT_FALSE(read);
  EXPECT_EQ(read.message().rfind("cannot read '" + dir_ + "': ", 0), 0U) << read.message();
}

}  // namespace
}  // namespace tokenguard::detail
