// Installs every route of shared/API.md on an httplib server, in front of a node_api.
#pragma once

namespace httplib {
class Server;
}

namespace flashsale {

class node_api;

void install_routes(httplib::Server& server, node_api& node);

} // namespace flashsale
