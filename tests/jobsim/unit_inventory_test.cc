#include <gtest/gtest.h>

#include <set>

#include "jobsim/api_error.h"
#include "jobsim/inventory.h"
#include "jobsim/target_resolver.h"

namespace jobsim {
namespace {

using nlohmann::json;

const char* kInventory = R"({
  "hosts": [
    {"host_id": 1, "ip": "10.0.0.1", "cloud_id": 0, "scope_type": "biz", "scope_id": "1"},
    {"host_id": 2, "ip": "10.0.0.2", "cloud_id": 0, "scope_id": 1},
    {"host_id": 3, "ip": "10.0.0.1", "cloud_id": 5, "scope_id": "1", "agent": "abnormal"},
    {"host_id": 4, "ip": "2001:db8:0:0::4", "scope_id": "2"},
    {"host_id": 5, "ip": "10.0.0.5", "scope_id": "2"}
  ],
  "biz_sets": [{"id": "9001", "biz_ids": ["1", "2"]}],
  "dynamic_groups": [{"id": "dg-web", "scope_id": "1", "host_ids": [2, 1]}],
  "topo_nodes": [{"id": 77, "node_type": "module", "scope_id": "2", "host_ids": [4, 5]}]
})";

TEST(InventoryTest, ParsesHostsGroupsAndNodes) {
  Inventory inv = Inventory::from_json_text(kInventory);
  ASSERT_EQ(inv.hosts().size(), 5u);
  EXPECT_EQ(inv.find(2)->scope.id, "1");
  EXPECT_TRUE(inv.find(3)->agent_abnormal);
  EXPECT_FALSE(inv.find(1)->agent_abnormal);
  EXPECT_EQ(inv.find(4)->ip, "2001:db8::4");  // canonical form
  EXPECT_TRUE(inv.find(4)->ipv6());
  EXPECT_EQ(inv.find_ip(5, "10.0.0.1")->host_id, 3);
  EXPECT_EQ(inv.find_ip(0, "10.0.0.1")->host_id, 1);
  EXPECT_EQ(inv.find_ip(0, "2001:db8::0:4")->host_id, 4);  // any spelling of the address
  EXPECT_NE(inv.find_dynamic_group("dg-web"), nullptr);
  EXPECT_NE(inv.find_topo_node(77, "module"), nullptr);
  EXPECT_EQ(inv.find_topo_node(77, "set"), nullptr);
  EXPECT_TRUE(inv.in_scope(*inv.find(4), Scope{"biz_set", "9001"}));
  EXPECT_FALSE(inv.in_scope(*inv.find(4), Scope{"biz", "1"}));
}

TEST(InventoryTest, RejectsBadFiles) {
  EXPECT_THROW(Inventory::from_json_text("{"), std::runtime_error);
  EXPECT_THROW(Inventory::from_json_text("[]"), std::runtime_error);
  EXPECT_THROW(Inventory::from_json_text(R"({"hosts": [{"ip": "10.0.0.1"}]})"), std::runtime_error);
  EXPECT_THROW(Inventory::from_json_text(R"({"hosts": [{"host_id": 1, "ip": "not-an-ip"}]})"),
               std::runtime_error);
  EXPECT_THROW(
      Inventory::from_json_text(
          R"({"hosts": [{"host_id": 1, "ip": "10.0.0.1"}, {"host_id": 1, "ip": "10.0.0.2"}]})"),
      std::runtime_error);
  EXPECT_THROW(Inventory::from_json_text(
                   R"({"hosts": [{"host_id": 1, "ip": "10.0.0.1", "agent": "sleepy"}]})"),
               std::runtime_error);
  EXPECT_THROW(
      Inventory::from_json_text(
          R"({"hosts": [{"host_id": 1, "ip": "10.0.0.1"}], "dynamic_groups": [{"id": "g", "host_ids": [9]}]})"),
      std::runtime_error);
}

TEST(InventoryTest, GeneratesDocumentationAddresses) {
  Inventory inv = Inventory::generate(1000);
  ASSERT_EQ(inv.hosts().size(), 1000u);
  EXPECT_EQ(inv.hosts()[0].host_id, 101);
  EXPECT_EQ(inv.hosts()[0].ip, "192.0.2.1");
  EXPECT_EQ(inv.hosts()[1].ip, "192.0.2.2");
  std::set<std::string> ips;
  int v6 = 0;
  for (auto& h : inv.hosts()) {
    EXPECT_EQ(h.scope, (Scope{"biz", "1"}));
    EXPECT_EQ(h.cloud_id, 0);
    ips.insert(h.ip);
    if (h.ipv6()) {
      ++v6;
      EXPECT_EQ(h.ip.rfind("2001:db8:", 0), 0u) << h.ip;
    } else {
      bool doc = h.ip.rfind("192.0.2.", 0) == 0 || h.ip.rfind("198.51.100.", 0) == 0 ||
                 h.ip.rfind("203.0.113.", 0) == 0;
      EXPECT_TRUE(doc) << h.ip;
    }
  }
  EXPECT_EQ(ips.size(), 1000u);
  EXPECT_GT(v6, 0);
  EXPECT_TRUE(inv.find(110)->ipv6());
  EXPECT_FALSE(Inventory::generate(5).hosts()[4].ipv6());
}

int64_t code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e.code();
  }
  return 0;
}

std::vector<int64_t> ids(const std::vector<Host>& hosts) {
  std::vector<int64_t> out;
  for (auto& h : hosts) out.push_back(h.host_id);
  return out;
}

TEST(TargetResolverTest, ResolvesEveryKindWithoutDuplicates) {
  Inventory inv = Inventory::from_json_text(kInventory);
  Scope biz1{"biz", "1"};
  EXPECT_EQ(ids(resolve_targets(inv, biz1, json{{"host_id_list", {2, 1, 2}}}, "t")),
            (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(ids(resolve_targets(
                inv, biz1, json{{"ip_list", {{{"bk_cloud_id", 5}, {"ip", "10.0.0.1"}}}}}, "t")),
            (std::vector<int64_t>{3}));
  // ip_list is ignored when host ids are given
  EXPECT_EQ(ids(resolve_targets(inv, biz1,
                                json{{"host_id_list", {1}},
                                     {"ip_list", {{{"bk_cloud_id", 0}, {"ip", "10.0.0.99"}}}}},
                                "t")),
            (std::vector<int64_t>{1}));
  EXPECT_EQ(ids(resolve_targets(
                inv, biz1,
                json{{"dynamic_group_list", {{{"id", "dg-web"}}}}, {"host_id_list", {1}}}, "t")),
            (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(
      ids(resolve_targets(inv, Scope{"biz", "2"},
                          json{{"topo_node_list", {{{"id", 77}, {"node_type", "module"}}}}}, "t")),
      (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(
      ids(resolve_targets(inv, Scope{"biz_set", "9001"}, json{{"host_id_list", {1, 4}}}, "t")),
      (std::vector<int64_t>{1, 4}));
}

TEST(TargetResolverTest, AnswersJobCodes) {
  Inventory inv = Inventory::from_json_text(kInventory);
  Scope biz1{"biz", "1"};
  EXPECT_EQ(code_of([&] { resolve_targets(inv, biz1, json(), "t"); }), code::kHostListEmpty);
  EXPECT_EQ(code_of([&] { resolve_targets(inv, biz1, json::object(), "t"); }),
            code::kHostListEmpty);
  EXPECT_EQ(code_of([&] {
              resolve_targets(inv, biz1, json{{"host_id_list", json::array()}}, "t");
            }),
            code::kHostListEmpty);
  EXPECT_EQ(code_of([&] {
              resolve_targets(inv, biz1, json{{"host_id_list", {999}}}, "t");
            }),
            code::kHostsInvalid);
  EXPECT_EQ(code_of([&] {
              resolve_targets(inv, biz1, json{{"host_id_list", {4}}}, "t");
            }),
            code::kHostsInvalid);  // host of biz 2
  EXPECT_EQ(code_of([&] {
              resolve_targets(inv, biz1, json{{"dynamic_group_list", {{{"id", "nope"}}}}}, "t");
            }),
            code::kHostsInvalid);
  EXPECT_EQ(code_of([&] {
              resolve_targets(inv, biz1,
                              json{{"topo_node_list", {{{"id", 77}, {"node_type", "module"}}}}},
                              "t");
            }),
            code::kHostsInvalid);  // node of biz 2
  EXPECT_EQ(code_of([&] {
              resolve_targets(inv, biz1, json{{"host_id_list", "101"}}, "t");
            }),
            code::kIllegalNamedParam);
  EXPECT_EQ(code_of([&] {
              resolve_targets(inv, biz1, json{{"host_id_list", {"abc"}}}, "t");
            }),
            code::kIllegalNamedParam);
}

}  // namespace
}  // namespace jobsim
