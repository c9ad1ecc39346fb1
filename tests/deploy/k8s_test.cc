// The Kubernetes kustomization (deploy/k8s), rendered offline with
// `kubectl kustomize` and checked object by object: names and kinds,
// selectors against pod labels, container ports against Services and
// probes, security settings, resources, and that every image is a target
// of deploy/Dockerfile and every flag one its binary accepts. No cluster is
// needed.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "services/sampler/profile_store.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_env.h"

namespace fm::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `kubectl kustomize deploy/k8s`, installing Debian's kubernetes-client
// when no kubectl is present and this runs as root; "" when impossible.
std::string Render(std::string* why) {
  const std::string dir = SourceDir() + "/deploy/k8s";
  if (RunShell("command -v kubectl", 5000).exit_code != 0) {
    CommandResult install = RunShell(
        "[ \"$(id -u)\" -eq 0 ] && export DEBIAN_FRONTEND=noninteractive && "
        "apt-get update -qq && apt-get install -y -qq "
        "--no-install-recommends kubernetes-client >/dev/null",
        5 * 60 * 1000);
    if (install.exit_code != 0) {
      *why = "kubectl is not installed and kubernetes-client could not be: " +
             install.err;
      return "";
    }
  }
  CommandResult r = RunShell("kubectl kustomize '" + dir + "'", 60000);
  INFO("kubectl kustomize: " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

// The Dockerfile's runtime targets: name -> {exposed ports (gRPC first),
// entrypoint argv}.
struct ImageTarget {
  std::vector<int> ports;
  std::vector<std::string> entrypoint;
  std::string user;
};

std::map<std::string, ImageTarget> DockerfileTargets() {
  std::map<std::string, ImageTarget> targets;
  std::istringstream in(ReadFile(SourceDir() + "/deploy/Dockerfile"));
  const std::regex from(R"(^FROM\s+\S+\s+AS\s+(\S+))", std::regex::icase);
  const std::regex expose(R"(^EXPOSE\s+([\d ]+))");
  const std::regex entry(R"(^ENTRYPOINT\s+\[(.*)\])");
  const std::regex user(R"(^USER\s+(\S+))");
  const std::regex quoted(R"re("([^"]*)")re");
  std::string line, current;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, from)) {
      current = m[1];
      targets[current];
    } else if (!current.empty() && std::regex_search(line, m, expose)) {
      std::istringstream ports(m[1].str());
      for (int port; ports >> port;) targets[current].ports.push_back(port);
    } else if (!current.empty() && std::regex_search(line, m, user)) {
      targets[current].user = m[1];
    } else if (!current.empty() && std::regex_search(line, m, entry)) {
      const std::string list = m[1];
      for (std::sregex_iterator it(list.begin(), list.end(), quoted), end;
           it != end; ++it) {
        targets[current].entrypoint.push_back((*it)[1]);
      }
    }
  }
  return targets;
}

// The flags `binary` accepts, from its --helpfull.
std::set<std::string> FlagsOf(const std::string& binary) {
  CommandResult r = RunCommand({binary, "--helpfull"}, "", 10000);
  std::set<std::string> flags;
  const std::string text = r.out + r.err;
  const std::regex flag(R"(\n\s+--([a-z0-9_]+) )");
  for (std::sregex_iterator it(text.begin(), text.end(), flag), end; it != end;
       ++it) {
    flags.insert((*it)[1]);
  }
  return flags;
}

// Every key of `selector` is in `labels` with the same value.
bool Selects(const YAML::Node& selector, const YAML::Node& labels) {
  if (!selector || !selector.IsMap() || selector.size() == 0) return false;
  for (const auto& kv : selector) {
    const std::string key = kv.first.as<std::string>();
    if (!labels[key] || labels[key].as<std::string>() != kv.second.as<std::string>()) {
      return false;
    }
  }
  return true;
}

struct Objects {
  std::vector<YAML::Node> all;
  std::vector<YAML::Node> Of(const std::string& kind) const {
    std::vector<YAML::Node> out;
    for (const auto& o : all) {
      if (o["kind"].as<std::string>() == kind) out.push_back(o);
    }
    return out;
  }
  // The object, or a null node (IsMap() false).
  YAML::Node Find(const std::string& kind, const std::string& name) const {
    for (const auto& o : Of(kind)) {
      if (o["metadata"]["name"].as<std::string>() == name) return o;
    }
    return YAML::Node();
  }
};

void CheckContainer(const YAML::Node& c, bool ours,
                    const std::map<std::string, ImageTarget>& targets) {
  const std::string name = c["name"].as<std::string>();
  INFO("container " << name);
  const YAML::Node sc = c["securityContext"];
  REQUIRE(sc);
  CHECK(sc["allowPrivilegeEscalation"].as<bool>() == false);
  CHECK(sc["readOnlyRootFilesystem"].as<bool>() == true);
  REQUIRE(sc["capabilities"]["drop"]);
  CHECK(sc["capabilities"]["drop"][0].as<std::string>() == "ALL");
  for (const char* kind : {"requests", "limits"}) {
    for (const char* res : {"cpu", "memory"}) {
      INFO(kind << "." << res);
      CHECK(c["resources"][kind][res]);
    }
  }
  // The image is fmserve/<Dockerfile target>[:tag].
  const std::string image = c["image"].as<std::string>();
  std::smatch m;
  const std::regex form(R"(^fmserve/([a-z]+)(:\S+)?$)");
  REQUIRE(std::regex_match(image, m, form));
  const std::string target = m[1];
  REQUIRE(targets.count(target) == 1);
  if (!ours) return;  // an init container running a plain command
  const ImageTarget& t = targets.at(target);
  CHECK(t.user == "10001:10001");
  // The target's EXPOSEd ports in order: gRPC first, named grpc, which
  // every probe checks; metrics last, named metrics, the port the scrape
  // annotations name; the gateway's HTTP API, named http, between them.
  REQUIRE(t.ports.size() >= 2);
  REQUIRE(c["ports"].size() == t.ports.size());
  for (size_t i = 0; i < t.ports.size(); ++i) {
    const char* expected =
        i == 0 ? "grpc" : (i + 1 == t.ports.size() ? "metrics" : "http");
    CHECK(c["ports"][i]["name"].as<std::string>() == expected);
    CHECK(c["ports"][i]["containerPort"].as<int>() == t.ports[i]);
  }
  const int port = c["ports"][0]["containerPort"].as<int>();
  for (const char* probe : {"startupProbe", "readinessProbe", "livenessProbe"}) {
    INFO(probe);
    REQUIRE(c[probe]["grpc"]);
    CHECK(c[probe]["grpc"]["port"].as<int>() == port);
  }
  // Startup and liveness ask for the process, not for its dependencies (a
  // gateway waiting for its model must not be restarted); readiness asks
  // for the whole service.
  CHECK(c["startupProbe"]["grpc"]["service"].as<std::string>() == "liveness");
  CHECK(c["livenessProbe"]["grpc"]["service"].as<std::string>() == "liveness");
  CHECK(!c["readinessProbe"]["grpc"]["service"].IsDefined());
  // Every flag (entrypoint and args) is one the binary accepts.
  REQUIRE(!t.entrypoint.empty());
  const std::set<std::string> flags = FlagsOf(BinDir() + "/" + t.entrypoint[0]);
  REQUIRE(!flags.empty());
  std::vector<std::string> argv(t.entrypoint.begin() + 1, t.entrypoint.end());
  for (const auto& a : c["args"]) argv.push_back(a.as<std::string>());
  for (const std::string& arg : argv) {
    INFO(t.entrypoint[0] << " " << arg);
    REQUIRE(arg.rfind("--", 0) == 0);
    const std::string flag = arg.substr(2, arg.find('=') - 2);
    CHECK(flags.count(flag) == 1);
  }
}

TEST_CASE("kubernetes: the kustomization renders and every object fits",
          "[deploy]") {
  std::string why;
  const std::string rendered = Render(&why);
  if (rendered.empty()) {
    const char* required = std::getenv("FM_REQUIRE_DEPLOY");
    if (required != nullptr && std::string(required) == "1") FAIL(why);
    ReportSkip(why);
    return;
  }
  Objects objects;
  for (const YAML::Node& doc : YAML::LoadAll(rendered)) {
    INFO(YAML::Dump(doc));
    REQUIRE(doc["apiVersion"]);
    REQUIRE(doc["kind"]);
    REQUIRE(doc["metadata"]["name"]);
    objects.all.push_back(doc);
  }
  const auto targets = DockerfileTargets();

  const std::map<std::string, std::string> stages = {
      {"fm-tokenizer", "tokenizer"}, {"fm-model", "model"},
      {"fm-sampler", "sampler"}, {"fm-gateway", "gateway"}};
  for (const auto& [name, target] : stages) {
    INFO(name);
    const YAML::Node deploy = objects.Find("Deployment", name);
    const YAML::Node service = objects.Find("Service", name);
    REQUIRE(deploy.IsMap());
    REQUIRE(service.IsMap());
    CHECK(deploy["apiVersion"].as<std::string>() == "apps/v1");
    const YAML::Node pod = deploy["spec"]["template"];
    const YAML::Node labels = pod["metadata"]["labels"];
    CHECK(Selects(deploy["spec"]["selector"]["matchLabels"], labels));
    CHECK(Selects(service["spec"]["selector"], labels));
    // The internal stages are headless: the gateway balances their pods.
    if (name != "fm-gateway") {
      CHECK(service["spec"]["clusterIP"].as<std::string>() == "None");
    }
    const YAML::Node psc = pod["spec"]["securityContext"];
    CHECK(psc["runAsNonRoot"].as<bool>() == true);
    CHECK(psc["runAsUser"].as<int>() == 10001);
    // Mounted Secrets and volumes are group-readable by the service user.
    CHECK(psc["fsGroup"].as<int>() == 10001);
    const YAML::Node containers = pod["spec"]["containers"];
    REQUIRE(containers.size() == 1);
    CheckContainer(containers[0], true, targets);
    // Prometheus' Kubernetes discovery scrapes the container's metrics
    // port, which the image's --metrics_listen serves.
    const YAML::Node annotations = pod["metadata"]["annotations"];
    REQUIRE(annotations.IsMap());
    CHECK(annotations["prometheus.io/scrape"].as<std::string>() == "true");
    CHECK(annotations["prometheus.io/path"].as<std::string>() == "/metrics");
    const YAML::Node ports = containers[0]["ports"];
    CHECK(annotations["prometheus.io/port"].as<std::string>() ==
          std::to_string(ports[ports.size() - 1]["containerPort"].as<int>()));
    const ImageTarget& image = targets.at(target);
    CHECK(std::find(image.entrypoint.begin(), image.entrypoint.end(),
                    "--metrics_listen=0.0.0.0:" +
                        annotations["prometheus.io/port"].as<std::string>()) !=
          image.entrypoint.end());
    CHECK(containers[0]["image"].as<std::string>().rfind("fmserve/" + target, 0) == 0);
    if (pod["spec"]["initContainers"]) {
      for (const auto& init : pod["spec"]["initContainers"]) {
        CheckContainer(init, false, targets);
      }
    }
    // The Service's ports are the container's, by name.
    const YAML::Node service_ports = service["spec"]["ports"];
    REQUIRE(service_ports.size() == containers[0]["ports"].size());
    for (size_t i = 0; i < service_ports.size(); ++i) {
      const YAML::Node container_port = containers[0]["ports"][i];
      CHECK(service_ports[i]["name"].as<std::string>() ==
            container_port["name"].as<std::string>());
      CHECK(service_ports[i]["port"].as<int>() ==
            container_port["containerPort"].as<int>());
      CHECK(service_ports[i]["targetPort"].as<std::string>() ==
            container_port["name"].as<std::string>());
    }
    // Every volume a container mounts exists, and what it refers to does
    // (ConfigMaps generated here, the models claim; the tokens Secret is
    // the operator's, named in the kustomization's instructions).
    std::set<std::string> volumes;
    for (const auto& v : pod["spec"]["volumes"]) {
      volumes.insert(v["name"].as<std::string>());
      if (v["configMap"]) {
        CHECK(objects.Find("ConfigMap", v["configMap"]["name"].as<std::string>())
                  .IsMap());
      }
      if (v["persistentVolumeClaim"]) {
        CHECK(objects
                  .Find("PersistentVolumeClaim",
                        v["persistentVolumeClaim"]["claimName"].as<std::string>())
                  .IsMap());
      }
      if (v["secret"]) {
        CHECK(v["secret"]["secretName"].as<std::string>() == "fm-gateway-tokens");
      }
    }
    for (const auto& c : containers) {
      for (const auto& m : c["volumeMounts"]) {
        CHECK(volumes.count(m["name"].as<std::string>()) == 1);
      }
    }
  }

  // The gateway reaches each stage through its Service name and port.
  const YAML::Node gateway = objects.Find("Deployment", "fm-gateway");
  const std::regex dns(R"(^--(tokenizer|model|sampler)=dns:///([a-z-]+):(\d+)$)");
  int dns_targets = 0;
  for (const auto& a : gateway["spec"]["template"]["spec"]["containers"][0]["args"]) {
    std::smatch m;
    const std::string arg = a.as<std::string>();
    if (!std::regex_match(arg, m, dns)) continue;
    ++dns_targets;
    INFO(arg);
    const YAML::Node service = objects.Find("Service", m[2]);
    REQUIRE(service.IsMap());
    CHECK(service["spec"]["ports"][0]["port"].as<int>() == std::stoi(m[3]));
  }
  CHECK(dns_targets == 3);

  // Disruption budgets for the model and the sampler; an autoscaler for
  // the model, which owns its replica count.
  for (const char* name : {"fm-model", "fm-sampler"}) {
    INFO(name);
    const YAML::Node pdb = objects.Find("PodDisruptionBudget", name);
    REQUIRE(pdb.IsMap());
    CHECK(pdb["apiVersion"].as<std::string>() == "policy/v1");
    CHECK(Selects(pdb["spec"]["selector"]["matchLabels"],
                  objects.Find("Deployment", name)["spec"]["template"]["metadata"]["labels"]));
  }
  const YAML::Node hpa = objects.Find("HorizontalPodAutoscaler", "fm-model");
  REQUIRE(hpa.IsMap());
  CHECK(hpa["apiVersion"].as<std::string>() == "autoscaling/v2");
  CHECK(hpa["spec"]["scaleTargetRef"]["kind"].as<std::string>() == "Deployment");
  CHECK(hpa["spec"]["scaleTargetRef"]["name"].as<std::string>() == "fm-model");
  CHECK(hpa["spec"]["minReplicas"].as<int>() >= 2);
  CHECK(!objects.Find("Deployment", "fm-model")["spec"]["replicas"].IsDefined());

  // The sampler's starting profiles are a profile file fm-sampler loads.
  const auto config_maps = objects.Of("ConfigMap");
  REQUIRE(config_maps.size() == 1);
  const std::string profiles = MakeTempDir() + "/profiles.json";
  {
    std::ofstream out(profiles);
    out << config_maps[0]["data"]["profiles.json"].as<std::string>();
  }
  auto store = fm::sampler::ProfileStore::Open(profiles);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  CHECK((*store)->List().size() >= 2);
}

}  // namespace
}  // namespace fm::testing
