// The portal's entry: each page module adds its routes, then the shell draws the page the address names.
import "./pages/accounts";
import "./pages/developer";
import "./pages/inbox";
import "./pages/admin";
import "./pages/offerings";
import "./pages/team";
import "./pages/settings";
import "./pages/usage";
import { start } from "./app";

start();
