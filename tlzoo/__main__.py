from tlzoo.cli.main import main

main()
