// The live view of the Logs tab: entries arrive as Server-Sent Events and are put at the
// top of the list, newest first. Text only (textContent): a log line is never HTML.
(function () {
  var list = document.getElementById("log-entries");
  var status = document.getElementById("log-status");
  if (!list || !list.dataset.stream || !window.EventSource) {
    return;
  }
  var fields = ["time", "app", "level", "msg"];
  var source = new EventSource(list.dataset.stream);
  status.textContent = "Following: new entries appear at the top.";
  source.addEventListener("entry", function (ev) {
    var e = JSON.parse(ev.data);
    var li = document.createElement("li");
    li.className = "log-entry level-" + (e.level || "unknown");
    fields.forEach(function (k) {
      var span = document.createElement("span");
      span.className = "log-" + k;
      span.textContent = e[k] || "";
      li.appendChild(span);
      li.appendChild(document.createTextNode(" "));
    });
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 5000) {
      list.removeChild(list.lastChild);
    }
  });
  source.addEventListener("end", function (ev) {
    status.textContent = JSON.parse(ev.data);
    source.close();
  });
  // EventSource would connect again and read the same entries twice: stop instead.
  source.onerror = function () {
    source.close();
    status.textContent = "The live view stopped. Reload the page to follow again.";
  };
})();
