// The subcommands' option parsing: values, flags, positionals, and the usage errors that name
// what was wrong.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apps/cli.h"

namespace {

using fg::cli::Args;
using fg::cli::UsageError;

Args parse(std::vector<std::string> words) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return Args(static_cast<int>(argv.size()), argv.data(), {"--db", "--model", "--threshold"}, {"--json"});
}

std::string usage_error(const std::vector<std::string>& words) {
  try {
    parse(words);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(CliArgs, ValuesFlagsAndPositionals) {
  const Args a = parse({"img.png", "--db", "d", "--model=m.fgw", "--json", "--threshold", "-0.25", "--", "--x.png"});
  EXPECT_EQ(a.get("--db"), "d");
  EXPECT_EQ(a.get("--model"), "m.fgw");
  EXPECT_EQ(a.get("--threshold"), "-0.25");  // a negative number is a value, not an option
  EXPECT_TRUE(a.flag("--json"));
  EXPECT_EQ(a.positionals(), (std::vector<std::string>{"img.png", "--x.png"}));
  EXPECT_EQ(a.get("--missing", "fallback"), "fallback");
}

TEST(CliArgs, AForgottenValueIsNotTakenFromTheNextOption) {
  EXPECT_EQ(usage_error({"--db", "--model", "m.fgw"}), "--db needs a value, got the option --model");
  EXPECT_EQ(usage_error({"--db", "--json"}), "--db needs a value, got the option --json");
  EXPECT_EQ(usage_error({"--db"}), "--db needs a value");
}

TEST(CliArgs, AnOptionGivenTwiceIsRefused) {
  EXPECT_EQ(usage_error({"--db", "a", "--db=b"}), "--db given twice ('a' and 'b'), expected once");
}

TEST(CliArgs, UnknownOptionsAndValuedFlagsAreRefused) {
  EXPECT_EQ(usage_error({"--frobnicate"}), "unknown option --frobnicate");
  EXPECT_EQ(usage_error({"--json=yes"}), "unknown option --json");
}

TEST(CliCount, TheNounAgreesWithTheNumber) {
  EXPECT_EQ(fg::cli::count(1, "identity", "identities"), "1 identity");
  EXPECT_EQ(fg::cli::count(0, "image", "images"), "0 images");
  EXPECT_EQ(fg::cli::count(2, "person", "people"), "2 people");
  EXPECT_EQ(fg::cli::count(-1, "day", "days"), "-1 days");
  EXPECT_EQ(fg::cli::count(5000000000LL, "event", "events"), "5000000000 events");
}

}  // namespace
