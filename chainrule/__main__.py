from chainrule.cli import console_main

console_main()
