// nassella console works without this file; it only keeps a form from being sent twice
// while the forge works (saving a change takes a few seconds).
document.addEventListener("submit", function (e) {
  var buttons = e.target.querySelectorAll("button[type=submit]");
  window.setTimeout(function () {
    buttons.forEach(function (b) { b.disabled = true; });
  }, 0);
});
