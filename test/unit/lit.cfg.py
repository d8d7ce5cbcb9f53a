# GoogleTest binaries, run by lit so that one command runs every test.
import os

import lit.formats

config.name = "MTGR-Unit"
config.suffixes = []
config.test_source_root = os.path.join(config.mtgr_obj_root, "test", "unit")
config.test_exec_root = config.test_source_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
config.environment["MTGR_SOURCE_DIR"] = config.mtgr_src_root
# scripts/sanitize.sh --ci runs a slice of the suites (GoogleTest filter).
if "GTEST_FILTER" in os.environ:
    config.environment["GTEST_FILTER"] = os.environ["GTEST_FILTER"]
